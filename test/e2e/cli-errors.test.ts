import { afterEach, describe, expect, test } from "bun:test";
import { readFileSync } from "node:fs";
import { binary } from "../helpers/binary.ts";
import { fakeEndpoint, plausibleAnswer } from "../helpers/fake-endpoint.ts";

async function whipcast(args: string[], env: Record<string, string> = {}) {
  await using proc = Bun.spawn([binary(), ...args], { stdout: "pipe", stderr: "pipe", env: { ...process.env, WHIP_URL: "", WHIP_TOKEN: "", ...env } });
  const [stdout, stderr, exitCode] = await Promise.all([new Response(proc.stdout).text(), new Response(proc.stderr).text(), proc.exited]);
  return { stdout, stderr, lines: stderr.split("\n").filter((l) => l !== ""), exitCode };
}

/** Whether `pid` is a live process (a zombie has been killed; only its reaping is pending). */
function running(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    return stat.slice(stat.lastIndexOf(")") + 2, stat.lastIndexOf(")") + 3) !== "Z";
  } catch {
    return false;
  }
}

let stops: (() => void)[] = [];
afterEach(() => {
  for (const s of stops) s();
  stops = [];
});

describe("bad input: one line naming the problem, exit 2", () => {
  test.each([
    [["publish", "http://127.0.0.1:9/w", "--size", "huge"], "--size must be WIDTHxHEIGHT with even sides from 16x16 to 7680x4320, like 1280x720 (got huge)"],
    [["publish", "http://127.0.0.1:9/w", "--fps", "0"], "--fps must be an integer from 1 to 120 (got 0)"],
    [["publish", "http://127.0.0.1:9/w", "--video-bitrate", "fast"], "--video-bitrate must be a bitrate from 100k to 50M, like 2500k or 2.5M (got fast)"],
    [["publish", "http://127.0.0.1:9/w", "--min-video-bitrate", "3M"], "--min-video-bitrate (3M) is above --video-bitrate (2500k)"],
    [["publish", "http://127.0.0.1:9/w", "--stats-interval", "-1"], "--stats-interval must be a number from 0 to 3600 (got -1)"],
    [["publish", "http://127.0.0.1:9/w", "--reconnect-timeout", "0"], "--reconnect-timeout must be a number from 1 to 2678400 (got 0)"],
    [["publish", "http://127.0.0.1:9/w", "--no-reconnect", "--reconnect-timeout", "5"], "--reconnect-timeout has no effect with --no-reconnect; give one or the other"],
    [["publish", "http://127.0.0.1:9/w", "--encoder", "quicksync"], "--encoder must be one of auto, videotoolbox, nvenc, vaapi, x264 (got quicksync)"],
    [["publish", "http://127.0.0.1:9/w", "--log", "xml"], "--log must be one of text, json (got xml)"],
    [["publish", "http://127.0.0.1:9/w", "--source", "/nonexistent.mp4"], "--source must be camera, screen, test or a media file (no such file: /nonexistent.mp4)"],
    [["publish", "http://127.0.0.1:9/w", "--source", "test", "--loop"], "--loop applies only to a file source (got --source test)"],
    [["publish", "http://127.0.0.1:9/w", "--no-audio", "--no-video"], "--no-video and --no-audio together leave nothing to publish"],
    [["publish", "http://127.0.0.1:9/w", "--ice-server", "turn:host:3478"], "--ice-server turn: needs credentials, as turn:USER:PASS@HOST:PORT"],
    [["publish", "http://127.0.0.1:9/w", "--token-file", "/nonexistent"], "--token-file /nonexistent: no such file"],
    [["publish", "http://127.0.0.1:9/w", "--fsp", "30"], "unknown flag --fsp (see --help)"],
    [["publish", "ftp://example.com/w"], "URL must be an http or https URL (got ftp:)"],
    [["stream"], "unknown command stream; expected publish, serve, devices, check, doctor, service, completions (see --help)"],
    [["serve", "--port", "70000"], "--port must be an integer from 0 to 65535 (got 70000)"],
    [["serve", "--max-viewers", "0"], "--max-viewers must be an integer from 1 to 10000 (got 0)"],
    [["serve", "--token", "short"], "--token must be 8 to 256 printable characters with no spaces"],
    [["serve", "--host", "bad host"], '--host must be an IP address or host name (got "bad host")'],
    [["serve", "--ice-server", "turn:h:3478"], "--ice-server turn: needs credentials, as turn:USER:PASS@HOST:PORT"],
  ])("%j", async (args, message) => {
    const r = await whipcast(args);
    expect(r.lines).toEqual([`whipcast: error: ${message}`]);
    expect(r.exitCode).toBe(2);
  });

  test("--help and --version", async () => {
    const help = await whipcast(["publish", "--help"]);
    expect(help.exitCode).toBe(0);
    expect(help.stdout).toContain("--video-bitrate");
    const serveHelp = await whipcast(["serve", "--help"]);
    expect(serveHelp.exitCode).toBe(0);
    expect(serveHelp.stdout).toContain("--max-viewers");
    const version = await whipcast(["--version"]);
    expect(version.stdout.split("\n")[0]).toMatch(/^whipcast \d+\.\d+\.\d+ \(commit [0-9a-f]{12}(-dirty)?\)$/);
  });
});

describe("endpoint and media failures", () => {
  test("401 → exit 3, one line on stderr, token never printed", async () => {
    const ep = fakeEndpoint(() => Response.json({ title: "Unauthorized", detail: "invalid stream key" }, { status: 401, headers: { "content-type": "application/problem+json" } }));
    stops.push(ep.stop);
    const r = await whipcast(["publish", ep.url, "--source", "test", "--quiet", "--token", "tok_abcdef123"]);
    expect(r.exitCode).toBe(3);
    expect(r.lines).toEqual(["whipcast: error: endpoint refused the stream: 401 Unauthorized: invalid stream key"]);
    expect(ep.seen.filter((s) => s.method === "DELETE")).toHaveLength(0);
  });

  test("unreachable endpoint → exit 4; a Cloudflare-style secret path is never printed", async () => {
    const secret = "4e48912c1e10e84c9bab3777695145dbk0072e99f6ddb152545830a794d165fce";
    const r = await whipcast(["publish", `http://127.0.0.1:9/${secret}/webRTC/publish`, "--source", "test", "--verbose"]);
    expect(r.exitCode).toBe(4);
    expect(r.lines.at(-1)).toStartWith("whipcast: error: cannot reach http://127.0.0.1:9/…/webRTC/publish");
    expect(r.stderr).not.toContain(secret);
  });

  test("garbage SDP answer → exit 3, and the created session is deleted", async () => {
    const ep = fakeEndpoint((req) => (req.method === "POST" ? new Response("this is not sdp", { status: 201, headers: { "content-type": "application/sdp", location: "/whip/s1" } }) : new Response(null, { status: 200 })));
    stops.push(ep.stop);
    const r = await whipcast(["publish", ep.url, "--source", "test", "--quiet"]);
    expect(r.exitCode).toBe(3);
    expect(r.lines).toEqual(["whipcast: error: endpoint sent an unusable SDP answer: it does not start with v=0"]);
    expect(ep.seen.map((s) => `${s.method} ${s.path}`)).toEqual(["POST /whip", "DELETE /whip/s1"]);
  });

  test("a missing camera → exit 5 with ffmpeg's own error, and the session is deleted", async () => {
    const ep = fakeEndpoint(async (req, seen) => (req.method === "POST" ? new Response(plausibleAnswer(seen.body), { status: 201, headers: { "content-type": "application/sdp", location: "/whip/s1" } }) : new Response(null, { status: 200 })));
    stops.push(ep.stop);
    const r = await whipcast(["publish", ep.url, "--source", "camera", "--video-device", "/dev/no-such-camera", "--no-audio", "--quiet"]);
    expect(r.exitCode).toBe(5);
    expect(r.lines).toHaveLength(1);
    expect(r.lines[0]).toMatch(/^whipcast: error: ffmpeg exited with \d+: .*no-such-camera.*No such file or directory/);
    // ffmpeg may fail before or after the POST; either way no session is left behind.
    expect(ep.seen.filter((s) => s.method === "DELETE").length).toBe(ep.seen.filter((s) => s.method === "POST").length);
  });

  test("a peer that never completes ICE → exit 6, and the session is deleted", async () => {
    const ep = fakeEndpoint(async (req, seen) => (req.method === "POST" ? new Response(plausibleAnswer(seen.body), { status: 201, headers: { "content-type": "application/sdp", location: "/whip/s1" } }) : new Response(null, { status: 200 })));
    stops.push(ep.stop);
    const r = await whipcast(["publish", ep.url, "--source", "test", "--size", "320x240", "--quiet"]);
    expect(r.exitCode).toBe(6);
    expect(r.lines).toHaveLength(1);
    expect(r.lines[0]).toStartWith("whipcast: error: WebRTC");
    expect(ep.seen.map((s) => s.method)).toEqual(["POST", "DELETE"]);
  });

  test("a file ffmpeg cannot read → exit 5 with ffmpeg's reason, before anything is posted", async () => {
    const ep = fakeEndpoint(() => new Response(null, { status: 500 }));
    stops.push(ep.stop);
    const path = `${process.env.TMPDIR ?? "/tmp"}/whipcast-not-media-${process.pid}.mp4`;
    await Bun.write(path, "this is not a video");
    try {
      const r = await whipcast(["publish", ep.url, "--source", path, "--quiet"]);
      expect(r.exitCode).toBe(5);
      expect(r.lines).toEqual([`whipcast: error: ffmpeg cannot read ${path}: ${path}: Invalid data found when processing input`]);
      expect(ep.seen).toHaveLength(0);
    } finally {
      await Bun.file(path).delete();
    }
  });

  test("ffmpeg output that loses its framing → exit 5 naming it, ffmpeg killed, nothing left on the server", async () => {
    const ep = fakeEndpoint(async (req, seen) => (req.method === "POST" ? new Response(plausibleAnswer(seen.body), { status: 201, headers: { "content-type": "application/sdp", location: "/whip/s1" } }) : new Response(null, { status: 200 })));
    stops.push(ep.stop);
    // An ffmpeg that answers every other call as the real one, but whose piped runs (the
    // capture and the encoders) write bytes that are not a framecrc line, then hang. Each names
    // itself by creating pid.<its pid>: creating a file is atomic, where `echo $$ > pid` from
    // several processes killed mid-write can leave it empty.
    const dir = `${process.env.TMPDIR ?? "/tmp"}/whipcast-broken-ffmpeg-${process.pid}`;
    const real = Bun.which("ffmpeg")!;
    await Bun.write(`${dir}/ffmpeg`, `#!/bin/sh\ncase "$*" in *pipe*) : > ${dir}/pid.$$; printf 'frame=1 fps=30 q=28.0\\n' >&3; exec sleep 60;; esac\nexec ${real} "$@"\n`);
    Bun.spawnSync(["chmod", "+x", `${dir}/ffmpeg`]);
    try {
      const r = await whipcast(["publish", ep.url, "--source", "test", "--no-audio", "--quiet", "--ffmpeg", `${dir}/ffmpeg`]);
      expect(r.exitCode).toBe(5);
      expect(r.lines).toEqual([`whipcast: error: cannot read ffmpeg's output: expected a framecrc line, got "frame=1 fps=30 q=28.0"`]);
      // Every hanging ffmpeg that started was killed, not left behind.
      const pids = [...new Bun.Glob("pid.*").scanSync(dir)].map((f) => Number(f.slice(4)));
      expect(pids.length).toBeGreaterThan(0);
      expect(pids.filter(running)).toEqual([]);
      expect(ep.seen.filter((s) => s.method === "DELETE").length).toBe(ep.seen.filter((s) => s.method === "POST").length);
    } finally {
      Bun.spawnSync(["rm", "-rf", dir]);
    }
  });

  test("an ffmpeg that does not exist → exit 2 naming the flag", async () => {
    const r = await whipcast(["publish", "http://127.0.0.1:9/w", "--ffmpeg", "/nonexistent/ffmpeg"]);
    expect(r.lines).toEqual(["whipcast: error: --ffmpeg /nonexistent/ffmpeg: no such file"]);
    expect(r.exitCode).toBe(2);
  });

  test("a second Ctrl+C exits at once with 130", async () => {
    // An endpoint that never answers keeps the first stop waiting on the POST.
    const ep = fakeEndpoint(() => new Promise<Response>(() => {}));
    stops.push(ep.stop);
    await using proc = Bun.spawn([binary(), "publish", ep.url, "--source", "test", "--size", "320x240"], { stdout: "pipe", stderr: "pipe" });
    while (ep.seen.length === 0) await Bun.sleep(20);
    proc.kill("SIGINT");
    await Bun.sleep(50);
    proc.kill("SIGINT");
    expect(await proc.exited).toBe(130);
  });

  test("devices lists cameras, microphones and screens", async () => {
    const r = await whipcast(["devices", "--json"]);
    expect(r.exitCode).toBe(0);
    const list = JSON.parse(r.stdout) as Record<string, unknown[]>;
    expect(Object.keys(list).sort()).toEqual(["cameras", "microphones", "screens"]);
    const text = await whipcast(["devices"]);
    expect(text.stdout).toContain("cameras (--video-device):");
  });
});
