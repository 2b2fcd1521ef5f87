import type { Server } from "bun";
import { UsageError } from "../errors.ts";
import type { ServerConfig } from "../protocol.ts";
import { iceLinks, MAX_BODY_BYTES, routes } from "./http.ts";
import { Relay } from "./relay.ts";

export interface RunningServer {
  origin: string;
  relay: Relay;
  close(): Promise<void>;
}

/** Loopback addresses: the relay offers 127.0.0.1 candidates only when bound to one. */
export function isLoopbackHost(host: string): boolean {
  return host === "localhost" || host === "::1" || /^127\./.test(host);
}

/** `whipcast serve`: the relay behind its HTTP routes, listening. */
export function startServer(config: ServerConfig, log: (level: "info" | "debug", message: string) => void): RunningServer {
  const relay = new Relay({ iceServers: config.iceServers, loopback: isLoopbackHost(config.host), maxViewers: config.maxViewers, log });
  let server: Server<undefined>;
  const fetch = routes({
    relay,
    token: config.token,
    viewerToken: config.viewerToken,
    iceLinks: iceLinks(config.iceServers),
    clientAddress: (req) => server.requestIP(req)?.address ?? "unknown",
  });
  const listen = (port: number): Server<undefined> =>
    Bun.serve({ hostname: config.host, port, fetch, maxRequestBodySize: MAX_BODY_BYTES * 4, idleTimeout: 30, development: false });
  try {
    server = listen(config.preferPort ?? config.port);
  } catch (error) {
    if (config.preferPort !== undefined) server = listen(config.port);
    else throw listenError(config, error);
  }
  const host = config.host.includes(":") ? `[${config.host}]` : config.host;
  let closing: Promise<void> | undefined;
  return {
    origin: `http://${host}:${server.port}`,
    relay,
    close: () =>
      (closing ??= (async () => {
        await relay.close();
        await server.stop(true);
      })()),
  };
}

function listenError(config: ServerConfig, error: unknown): UsageError {
  const code = (error as { code?: string }).code ?? "";
  if (code === "EADDRINUSE") return new UsageError(`port ${config.port} on ${config.host} is in use; choose another with --port`);
  if (code === "EADDRNOTAVAIL") return new UsageError(`--host ${config.host} is not an address of this machine`);
  if (code === "EACCES") return new UsageError(`no permission to listen on port ${config.port}; use a port above 1023`);
  return new UsageError(`cannot listen on ${config.host}:${config.port}: ${error instanceof Error ? error.message : String(error)}`);
}
