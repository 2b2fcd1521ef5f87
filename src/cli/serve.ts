import { randomBytes } from "node:crypto";
import { fromPayload, InternalError, UsageError } from "../errors.ts";
import { STOP_BUDGET } from "../stop-budget.ts";
import type { ServerConfig, ServerEvent } from "../protocol.ts";
import { isLoopbackHost } from "../server/server.ts";
import { parseIceServerFlag } from "../whip/ice-server-url.ts";
import { workerUrl } from "../workers.ts";
import type { Logger } from "./log.ts";
import { LOG_FORMATS } from "./options.ts";
import { parseNumber } from "./units.ts";

export interface ServeFlags {
  host: string;
  port: string;
  token?: string;
  "viewer-token"?: string;
  "max-viewers": string;
  log: string;
  quiet: boolean;
  verbose: boolean;
}

export interface ServeOptions {
  config: ServerConfig;
  /** The token was generated here (non-loopback host, no --token) and must be shown once. */
  generatedToken: boolean;
  log: "text" | "json";
  verbosity: "quiet" | "normal" | "verbose";
}

export function resolveServeOptions(flags: ServeFlags, iceFlags: string[], randomToken: () => string = () => randomBytes(24).toString("base64url")): ServeOptions {
  const host = flags.host.trim();
  if (!/^[A-Za-z0-9.:-]+$/.test(host)) throw new UsageError(`--host must be an IP address or host name (got ${JSON.stringify(flags.host)})`);
  const port = parseNumber("--port", flags.port, 0, 65535, true);
  const maxViewers = parseNumber("--max-viewers", flags["max-viewers"], 1, 10_000, true);
  for (const [flag, value] of [["--token", flags.token], ["--viewer-token", flags["viewer-token"]]] as const) {
    if (value !== undefined && !/^[\x21-\x7e]{8,256}$/.test(value)) throw new UsageError(`${flag} must be 8 to 256 printable characters with no spaces`);
  }
  if (!(LOG_FORMATS as readonly string[]).includes(flags.log)) throw new UsageError(`--log must be one of ${LOG_FORMATS.join(", ")} (got ${flags.log})`);
  // Anyone who can reach a non-loopback address could publish: never open that without a token.
  const generatedToken = flags.token === undefined && !isLoopbackHost(host);
  return {
    config: {
      host,
      port,
      token: flags.token ?? (generatedToken ? randomToken() : undefined),
      viewerToken: flags["viewer-token"],
      maxViewers,
      iceServers: iceFlags.map(parseIceServerFlag),
    },
    generatedToken,
    log: flags.log as "text" | "json",
    verbosity: flags.quiet ? "quiet" : flags.verbose ? "verbose" : "normal",
  };
}

export interface ServerHandle {
  origin: string;
  /** Close every session and the listener, within `budgetMs`. Idempotent. */
  stop(budgetMs?: number): Promise<void>;
}

/** Start the server Worker; resolves once it listens, rejects with a WhipcastError if it cannot. */
export function startServerWorker(config: ServerConfig, log: Logger): Promise<ServerHandle> {
  const worker = new Worker(workerUrl("server/server.worker"));
  let stopping: Promise<void> | undefined;
  let stopped!: () => void;
  const done = new Promise<void>((r) => (stopped = r));
  return new Promise((resolve, reject) => {
    worker.onmessage = (e: MessageEvent<ServerEvent>) => {
      const ev = e.data;
      switch (ev.type) {
        case "listening":
          resolve({
            origin: ev.origin,
            stop: (budgetMs = STOP_BUDGET.serverMs) =>
              (stopping ??= (async () => {
                worker.postMessage({ type: "stop" });
                await Promise.race([done, Bun.sleep(budgetMs)]);
                worker.terminate();
              })()),
          });
          break;
        case "log":
          log.log(ev.level, ev.message);
          break;
        case "error":
          worker.terminate();
          reject(fromPayload(ev.error));
          break;
        case "stopped":
          stopped();
          break;
      }
    };
    worker.onerror = (e) => reject(new InternalError(`server failed: ${e.message}`));
    worker.postMessage({ type: "start", config });
  });
}
