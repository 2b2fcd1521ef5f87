import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { existsSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { NO_FFMPEG } from "../../src/media/ffmpeg-locate.ts";
import { ROOT } from "../helpers/binary.ts";
import { inLoopbackNamespace } from "../helpers/netns.ts";

/**
 * Where the executable's ffmpeg comes from, tested on executables built for the purpose: one
 * with no ffmpeg embedded (whatever dist/whipcast carries on this machine), one with this
 * machine's ffmpeg embedded. Each runs with a PATH that has no ffmpeg.
 */
const dir = mkdtempSync(join(tmpdir(), "whipcast-embed-"));
const bare = join(dir, "whipcast-bare");
const withFfmpeg = join(dir, "whipcast-with-ffmpeg");
const systemFfmpeg = Bun.which("ffmpeg");

function build(args: string[]): void {
  const r = Bun.spawnSync([process.execPath, "build.ts", ...args], { cwd: ROOT, stdout: "pipe", stderr: "pipe" });
  if (r.exitCode !== 0) throw new Error(`build.ts ${args.join(" ")} failed: ${r.stderr.toString()}`);
}

beforeAll(() => {
  build(["--ffmpeg", "none", "--outfile", bare]);
  if (!systemFfmpeg) throw new Error("the tests need an ffmpeg on PATH to embed (bash .ci/setup test installs one)");
  build(["--ffmpeg", systemFfmpeg, "--outfile", withFfmpeg]);
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** Run an executable with no ffmpeg on PATH, in a loopback-only namespace, and a cache of its own. */
async function run(exe: string, args: string[]) {
  const cache = mkdtempSync(join(dir, "cache-"));
  const cmd = inLoopbackNamespace(["/usr/bin/env", "PATH=/nonexistent", "WHIPCAST_FFMPEG=", "WHIP_URL=", `XDG_CACHE_HOME=${cache}`, exe, ...args]);
  await using proc = Bun.spawn(cmd, { stdout: "pipe", stderr: "pipe" });
  const [stdout, stderr, exitCode] = await Promise.all([new Response(proc.stdout).text(), new Response(proc.stderr).text(), proc.exited]);
  return { stdout, lines: stderr.split("\n").filter((l) => l !== ""), exitCode, cached: existsSync(join(cache, "whipcast")) ? readdirSync(join(cache, "whipcast")) : [] };
}

describe("which ffmpeg the executable runs", () => {
  test.each([
    ["to a WHIP URL", ["publish", "http://127.0.0.1:9/w", "--source", "test"]],
    ["to the built-in server (no URL)", ["publish", "--source", "test"]],
  ])("no ffmpeg anywhere, publishing %s → exit 5, the install hint alone, no watch address", async (_, args) => {
    const r = await run(bare, args);
    expect({ stdout: r.stdout, lines: r.lines, exitCode: r.exitCode }).toEqual({ stdout: "", lines: [`whipcast: error: ${NO_FFMPEG}`], exitCode: 5 });
  });

  test("an embedded ffmpeg is unpacked to the cache and runs when PATH has none; the watch address comes once live", async () => {
    const r = await run(withFfmpeg, ["publish", "--source", "test", "--size", "320x240", "--duration", "2", "--verbose"]);
    expect(r.exitCode).toBe(0);
    expect(r.stdout).toMatch(/^watch at http:\/\/127\.0\.0\.1:\d+\/watch\/live\n$/);
    expect(r.lines.some((l) => /ffmpeg: \S+\/whipcast\/ffmpeg-\d+ \(from embedded\)/.test(l))).toBe(true);
    // The address is printed after the stream went live, not when the server started.
    const live = r.lines.findIndex((l) => l.includes("live: test pattern"));
    expect(live).toBeGreaterThanOrEqual(0);
    expect(r.cached.some((n) => /^ffmpeg-\d+$/.test(n))).toBe(true);
  });

  test("a run that fails after the built-in server started prints its error alone", async () => {
    const subtitles = join(dir, "captions.srt");
    writeFileSync(subtitles, "1\n00:00:00,000 --> 00:00:01,000\nhello\n");
    const r = await run(withFfmpeg, ["publish", "--source", subtitles]);
    expect({ stdout: r.stdout, exitCode: r.exitCode }).toEqual({ stdout: "", exitCode: 5 });
    expect(r.lines).toEqual([`whipcast: error: ${subtitles} has no audio or video stream`]);
  });
});
