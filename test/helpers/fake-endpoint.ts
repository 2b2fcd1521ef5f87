import type { Server } from "bun";

/** A scripted HTTP endpoint on 127.0.0.1 that records every request (WHIP client tests). */
export interface Seen {
  method: string;
  path: string;
  headers: Record<string, string>;
  body: string;
}

export type Handler = (req: Request, seen: Seen, index: number) => Response | Promise<Response>;

export function fakeEndpoint(handler: Handler): { url: string; base: string; seen: Seen[]; server: Server<undefined>; stop(): void } {
  const seen: Seen[] = [];
  const server = Bun.serve({
    hostname: "127.0.0.1",
    port: 0,
    idleTimeout: 0,
    async fetch(req) {
      const s: Seen = { method: req.method, path: new URL(req.url).pathname + new URL(req.url).search, headers: Object.fromEntries(req.headers), body: await req.text() };
      seen.push(s);
      return handler(req, s, seen.length - 1);
    },
  });
  const base = `http://127.0.0.1:${server.port}`;
  return { url: `${base}/whip`, base, seen, server, stop: () => server.stop(true) };
}

/** A syntactically valid answer for whipcast's two m-sections (it will not connect). */
export function plausibleAnswer(offer: string): string {
  const kinds = [...offer.matchAll(/^m=(\w+) /gm)].map((m) => m[1]!);
  const mids = [...offer.matchAll(/^a=mid:(\S+)/gm)].map((m) => m[1]!);
  const lines = ["v=0", "o=- 1 1 IN IP4 127.0.0.1", "s=-", "t=0 0", `a=group:BUNDLE ${mids.join(" ")}`, "a=ice-lite"];
  kinds.forEach((kind, i) => {
    const pt = kind === "video" ? 96 : 111;
    lines.push(
      `m=${kind} 9 UDP/TLS/RTP/SAVPF ${pt}`, "c=IN IP4 127.0.0.1", `a=mid:${mids[i]}`, "a=recvonly", "a=rtcp-mux",
      "a=ice-ufrag:abcd", "a=ice-pwd:abcdefghijklmnopqrstuv",
      "a=fingerprint:sha-256 00:11:22:33:44:55:66:77:88:99:AA:BB:CC:DD:EE:FF:00:11:22:33:44:55:66:77:88:99:AA:BB:CC:DD:EE:FF",
      "a=setup:passive", `a=rtpmap:${pt} ${kind === "video" ? "H264/90000" : "opus/48000/2"}`,
      "a=candidate:1 1 udp 2130706431 127.0.0.1 9 typ host",
    );
  });
  return `${lines.join("\r\n")}\r\n`;
}
