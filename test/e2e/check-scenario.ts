/**
 * `whipcast check` against `whipcast serve` and against endpoints that each get one thing
 * wrong, run inside a loopback-only network namespace. The misbehaving endpoints are a proxy in
 * front of the same serve: a session they let through is real, so whether check deleted it is
 * read off what serve answered. Prints one JSON line: each case's stdout lines, exit status and
 * the requests the proxy forwarded.
 *
 *   bun test/e2e/check-scenario.ts '{}'
 */
import { binary } from "../helpers/binary.ts";
import { startServe } from "../helpers/serve-process.ts";

type Mode = "absolute" | "unauthorized" | "nolocation" | "vp8" | "noice";

interface Seen {
  method: string;
  path: string;
  status: number;
}

const cleanups: (() => unknown)[] = [];
export const TOKEN = "tok3n-that-must-never-be-printed";


/** The answer with its video codecs turned into VP8 only: a room that takes nothing else. */
function vp8Only(sdp: string): string {
  return sdp
    .split("\r\n")
    .filter((l) => !/^a=fmtp:\d+ /.test(l) || !/profile-level-id|apt=/.test(l))
    .filter((l) => !/^a=rtpmap:\d+ rtx\//.test(l))
    .map((l) => l.replace(/^a=rtpmap:(\d+) H264\/90000/, "a=rtpmap:$1 VP8/90000"))
    .join("\r\n");
}

/** An offer or answer with every candidate pointing at a port nothing listens on. */
function deadCandidates(sdp: string): string {
  return sdp.replace(/^a=candidate:.*$/gm, "a=candidate:1 1 udp 2130706431 127.0.0.1 9 typ host");
}

async function proxy(upstream: string): Promise<{ url: (mode: Mode) => string; seen: Seen[]; stop(): void }> {
  const seen: Seen[] = [];
  const server = Bun.serve({
    hostname: "127.0.0.1",
    port: 0,
    async fetch(req) {
      const url = new URL(req.url);
      const [, first, ...rest] = url.pathname.split("/");
      const mode = (["absolute", "unauthorized", "nolocation", "vp8", "noice"] as const).find((m) => m === first);
      const path = mode ? `/${rest.join("/")}` : url.pathname;
      if (mode === "unauthorized" && req.method !== "OPTIONS") {
        seen.push({ method: req.method, path, status: 401 });
        return new Response("token required", { status: 401, headers: { "www-authenticate": 'Bearer realm="whip"' } });
      }
      let sent = req.method === "POST" || req.method === "PATCH" ? await req.text() : undefined;
      // Both ways: neither side may reach the other, so no check ever gets through.
      if (mode === "noice" && sent !== undefined) sent = deadCandidates(sent);
      const res = await fetch(`${upstream}${path}`, { method: req.method, headers: req.headers, body: sent, redirect: "manual" });
      seen.push({ method: req.method, path, status: res.status });
      const headers = new Headers(res.headers);
      headers.delete("content-length");
      let body = await res.text();
      if (req.method === "POST" && res.status === 201) {
        const location = res.headers.get("location") ?? "";
        if (mode === "nolocation") headers.delete("location");
        if (mode === "absolute") headers.set("location", new URL(location, `http://${server.hostname}:${server.port}`).href);
        if (mode === "vp8") body = vp8Only(body);
        if (mode === "noice") body = deadCandidates(body);
      }
      return new Response(body, { status: res.status, headers });
    },
  });
  return { url: (mode) => `http://127.0.0.1:${server.port}/${mode}/whip/${mode}`, seen, stop: () => server.stop(true) };
}

async function check(url: string, extra: string[] = []): Promise<{ lines: string[]; stderr: string; exitCode: number; ms: number }> {
  const started = performance.now();
  const proc = Bun.spawn([binary(), "check", url, "--connect-timeout", "3", ...extra], { stdin: "ignore", stdout: "pipe", stderr: "pipe", env: { ...process.env, WHIP_TOKEN: "" } });
  const [stdout, stderr, exitCode] = await Promise.all([new Response(proc.stdout).text(), new Response(proc.stderr).text(), proc.exited]);
  return { lines: stdout.split("\n").filter((l) => l !== ""), stderr, exitCode, ms: Math.round(performance.now() - started) };
}

try {
  const { origin } = await startServe([], cleanups);
  const p = await proxy(origin);
  cleanups.push(() => p.stop());
  const result: Record<string, unknown> = {};
  result.serve = await check(`${origin}/whip/direct`);
  result.json = await check(`${origin}/whip/json`, ["--log", "json"]);
  for (const mode of ["absolute", "unauthorized", "nolocation", "vp8", "noice"] as const) {
    const before = p.seen.length;
    // A token goes with one of them: it must appear in no line.
    result[mode] = { ...(await check(p.url(mode), mode === "absolute" ? ["--token", TOKEN] : [])), seen: p.seen.slice(before) };
  }
  console.log(JSON.stringify(result));
} finally {
  for (const c of cleanups.reverse()) await c();
}
process.exit(0);
