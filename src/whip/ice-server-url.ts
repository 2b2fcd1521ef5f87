import { UsageError } from "../errors.ts";
import type { IceServer } from "./link-header.ts";

/**
 * `--ice-server` values: `stun:host[:port]`, or `turn:user:pass@host:3478?transport=udp`
 * (also `turns:`). Credentials are lifted out of the URL into the RTCIceServer fields, since
 * RFC 7065 TURN URIs carry none.
 */
export function parseIceServerFlag(value: string): IceServer {
  const m = /^(stuns?|turns?):(?:([^:@]*):([^@]*)@)?([^?@]+)(\?.*)?$/i.exec(value.trim());
  if (!m) {
    throw new UsageError(`--ice-server must be stun:HOST[:PORT] or turn:USER:PASS@HOST[:PORT][?transport=udp|tcp] (got ${redactIceFlag(value)})`);
  }
  const scheme = m[1]!.toLowerCase();
  const hostPort = m[4]!;
  const query = m[5] ?? "";
  if (!/^(\[[0-9a-f:.]+\]|[A-Za-z0-9.-]+)(:\d{1,5})?$/i.test(hostPort)) {
    throw new UsageError(`--ice-server has an invalid host in ${redactIceFlag(value)}`);
  }
  if (query && !/^\?transport=(udp|tcp)$/i.test(query)) {
    throw new UsageError(`--ice-server accepts only ?transport=udp or ?transport=tcp (got ${query})`);
  }
  const server: IceServer = { urls: `${scheme}:${hostPort}${query.toLowerCase()}` };
  if (scheme.startsWith("turn")) {
    if (m[2] === undefined) throw new UsageError(`--ice-server ${scheme}: needs credentials, as ${scheme}:USER:PASS@HOST:PORT`);
    server.username = decodeURIComponent(m[2]);
    server.credential = decodeURIComponent(m[3]!);
  } else if (m[2] !== undefined) {
    throw new UsageError(`--ice-server ${scheme}: takes no credentials`);
  }
  return server;
}

/** A flag value as it may be shown: any credentials replaced. */
export function redactIceFlag(value: string): string {
  return value.replace(/^([a-z]+:)[^@]*@/i, "$1…@");
}
