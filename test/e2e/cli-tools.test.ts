import { afterAll, describe, expect, test } from "bun:test";
import { chmodSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import pkg from "../../package.json" with { type: "json" };
import { gitCommit } from "../../src/version.ts";
import { binary, ROOT } from "../helpers/binary.ts";
import { fakeEndpoint } from "../helpers/fake-endpoint.ts";
import { startStunServer } from "../helpers/stun-server.ts";
import { until } from "../helpers/until.ts";

/** The compiled executable's setup and diagnosis commands, and what its output looks like off and on a terminal. */
const dir = mkdtempSync(join(tmpdir(), "whipcast-cli-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

// Colour is decided by the output, NO_COLOR and TERM alone; CI's own variables must not decide it.
const { CI: _ci, TEST: _t, NO_COLOR: _n, ...baseEnv } = process.env;
const ENV = { ...baseEnv, WHIP_URL: "", WHIP_TOKEN: "", TERM: "xterm-256color", XDG_RUNTIME_DIR: join(dir, "run") };

async function whipcast(args: string[], env: Record<string, string> = {}) {
  await using proc = Bun.spawn([binary(), ...args], { stdout: "pipe", stderr: "pipe", env: { ...ENV, ...env } });
  const [stdout, stderr, exitCode] = await Promise.all([new Response(proc.stdout).text(), new Response(proc.stderr).text(), proc.exited]);
  return { stdout, stderr, lines: stdout.split("\n").filter((l) => l !== ""), errors: stderr.split("\n").filter((l) => l !== ""), exitCode };
}

/** The same on a pseudo-terminal (util-linux `script`): stdout and stderr are a TTY. */
async function onTerminal(args: string[], env: Record<string, string> = {}) {
  const command = [binary(), ...args].map((a) => `'${a}'`).join(" ");
  await using proc = Bun.spawn(["script", "-qec", command, "/dev/null"], { stdout: "pipe", stderr: "pipe", stdin: "ignore", env: { ...ENV, ...env } });
  const [stdout, exitCode] = await Promise.all([new Response(proc.stdout).text(), proc.exited]);
  return { stdout, exitCode };
}

const ESC = "\x1b";

describe("output hygiene: no escape codes in a pipe or with NO_COLOR; colour on a terminal", () => {
  const outputs = [["--help"], ["publish", "--help"], ["serve", "--help"], ["check", "--help"], ["doctor", "--help"], ["service", "--help"], ["service", "install", "--help"], ["completions", "--help"], ["doctor"], ["check", "http://127.0.0.1:9/whip/x"], ["publish", "--fps", "0"], ["--version"]];

  test.each(outputs)("piped: %p", async (...args) => {
    const r = await whipcast(args);
    expect(`${r.stdout}${r.stderr}`).not.toContain(ESC);
    expect(r.stdout.length + r.stderr.length).toBeGreaterThan(0);
  });

  test("on a terminal with NO_COLOR set: none either", async () => {
    for (const args of [["--help"], ["publish", "--help"], ["doctor"]]) {
      const r = await onTerminal(args, { NO_COLOR: "yes" });
      expect({ args, escapes: r.stdout.includes(ESC) }).toEqual({ args, escapes: false });
      expect(r.stdout).toContain(args[0] === "doctor" ? "✓ ffmpeg" : "USAGE");
    }
  });

  test("on a terminal: the colours stay", async () => {
    const help = await onTerminal(["--help"]);
    expect(help.stdout).toContain(`${ESC}[`);
    const doctor = await onTerminal(["doctor"]);
    expect(doctor.stdout).toContain(`${ESC}[32m✓${ESC}[39m ffmpeg`);
  });
});

describe("whipcast --version", () => {
  test("the version from package.json, the commit, and the ffmpeg it would use", async () => {
    const r = await whipcast(["--version"]);
    expect(r.exitCode).toBe(0);
    // The commit the executable was built from; `-dirty` as the tree was then.
    expect(r.lines[0]).toMatch(new RegExp(`^whipcast ${pkg.version.replace(/\./g, "\\.")} \\(commit ${gitCommit(ROOT)!.replace(/-dirty$/, "")}(-dirty)?\\)$`));
    expect(r.lines[1]).toMatch(/^ffmpeg \S+: \/\S+ffmpeg \((PATH|embedded|ffmpeg-static|WHIPCAST_FFMPEG)\)$/);
  });
});

describe("whipcast doctor", () => {
  test("finds ffmpeg and x264, reports nvenc and vaapi as not working, UDP to a STUN server, a sane clock; exit 0", async () => {
    const stun = await startStunServer();
    try {
      const r = await whipcast(["doctor", "--stun", stun.url]);
      expect(r.exitCode).toBe(0);
      const by = (topic: string) => r.lines.find((l) => l.slice(2).startsWith(`${topic} `)) ?? `(no ${topic} line)`;
      expect(r.lines[0]).toStartWith(`whipcast ${pkg.version} (commit `);
      expect(by("ffmpeg")).toMatch(/^✓ ffmpeg +\S+: \/\S+ \(from (PATH|embedded|ffmpeg-static)\)$/);
      expect(by("x264")).toBe("✓ x264         libx264 encodes");
      expect(by("nvenc")).toMatch(/^✗ nvenc +h264_nvenc is listed but does not encode: .+ — needs an NVIDIA GPU and its driver \(libcuda\)$|^✗ nvenc +this ffmpeg has no h264_nvenc$/);
      expect(by("vaapi")).toMatch(/^✗ vaapi +h264_vaapi is listed but does not encode: .+ — needs an Intel or AMD GPU render node|^✗ vaapi +this ffmpeg has no h264_vaapi$/);
      expect(by("h264")).toBe("✓ h264         --encoder auto picks x264");
      expect(by("udp")).toMatch(/^✓ udp +127\.0\.0\.1:\d+ answered in [\d.]+ ms; it sees this machine as 127\.0\.0\.1:\d+$/);
      expect(by("clock")).toMatch(/^✓ clock +20\d\d-\d\d-\d\dT\d\d:\d\d:\d\dZ, steady/);
      expect(stun.bindingRequests).toBeGreaterThanOrEqual(1);
    } finally {
      stun.close();
    }
  });

  test("--log json: one object with the same findings", async () => {
    const r = await whipcast(["doctor", "--log", "json"]);
    expect(r.lines.length).toBe(1);
    const o = JSON.parse(r.lines[0]!) as { ok: boolean; findings: { topic: string; result: string }[] };
    expect(o.ok).toBe(true);
    expect(o.findings.filter((f) => ["x264", "nvenc", "vaapi"].includes(f.topic)).map((f) => `${f.topic} ${f.result}`)).toEqual(["nvenc fail", "vaapi fail", "x264 ok"]);
  });

  test("a STUN server that does not answer: ✗ udp with the TURN hint, exit 4", async () => {
    const r = await whipcast(["doctor", "--stun", "stun:127.0.0.1:9"]);
    expect(r.exitCode).toBe(4);
    expect(r.lines.find((l) => l.startsWith("✗ udp"))).toBe("✗ udp          no answer from 127.0.0.1:9 (127.0.0.1) within 3 s — UDP may be blocked here: publish through a TURN server over TCP or TLS (--ice-server turn:USER:PASS@HOST:443?transport=tcp)");
  });

  test("no ffmpeg: ✗ ffmpeg with the install hint, exit 5", async () => {
    const r = await whipcast(["doctor"], { PATH: "/nonexistent", WHIPCAST_FFMPEG: "", XDG_CACHE_HOME: join(dir, "empty-cache") });
    if (r.lines.some((l) => l.includes("(from embedded)"))) return expect(r.exitCode).toBe(0);
    expect(r.exitCode).toBe(5);
    expect(r.lines[1]).toBe("✗ ffmpeg       not found — install it (macOS: brew install ffmpeg; Debian/Ubuntu: sudo apt-get install ffmpeg) or pass --ffmpeg PATH");
  });
});

describe("cron: two overlapping runs for one stream", () => {
  test("the second exits at once with status 7 and one line; --no-lock runs anyway; once the first is gone (even by kill -9) the next one runs", async () => {
    // An endpoint that never answers: the first run holds its lock while it waits.
    const ep = fakeEndpoint(() => new Promise<Response>(() => {}));
    const config = join(dir, "show.conf");
    writeFileSync(config, `url = ${ep.url}\nsource = test\nconnect-timeout = 60\n`);
    try {
      const first = Bun.spawn([binary(), "publish", "--config", config, "--verbose"], { stdout: "pipe", stderr: "pipe", env: ENV });
      await until("the first run's POST", async () => (ep.seen.length === 1 ? true : undefined), 10_000);
      const started = performance.now();
      const second = await whipcast(["publish", ep.url, "--source", "test"]);
      expect(second.exitCode).toBe(7);
      expect(second.errors).toEqual([`whipcast: error: another whipcast (pid ${first.pid}) is already publishing to ${ep.url}; stop it first, or pass --no-lock`]);
      expect(performance.now() - started).toBeLessThan(3_000);
      expect(ep.seen.length).toBe(1);
      // --no-lock: a second publisher it is, on purpose.
      const unlocked = Bun.spawn([binary(), "publish", ep.url, "--source", "test", "--no-lock", "--connect-timeout", "60"], { stdout: "pipe", stderr: "pipe", env: ENV });
      await until("the --no-lock run's POST", async () => (ep.seen.length === 2 ? true : undefined), 10_000);
      unlocked.kill("SIGTERM");
      await unlocked.exited;
      first.kill("SIGKILL");
      await first.exited;
      // Its lock is stale now: a third run takes it over and POSTs.
      const third = Bun.spawn([binary(), "publish", ep.url, "--source", "test", "--connect-timeout", "60"], { stdout: "pipe", stderr: "pipe", env: ENV });
      await until("the third run's POST", async () => (ep.seen.length === 3 ? true : undefined), 10_000);
      third.kill("SIGTERM");
      await third.exited;
    } finally {
      ep.stop();
    }
  }, 60_000);
});

describe("bad input to the new commands: one line, exit 2", () => {
  test.each([
    [["publish", "--config", "/nonexistent.conf"], "--config /nonexistent.conf: no such file"],
    [["check"], "check needs the WHIP endpoint: whipcast check URL (or set WHIP_URL)"],
    [["check", "ftp://x/y"], "URL must be an http or https URL (got ftp:)"],
    [["doctor", "--stun", "turn:x"], "--stun must be stun:HOST or stun:HOST:PORT (got turn:x)"],
    [["service"], "service needs install, uninstall or status (see whipcast service --help)"],
    [["service", "start", "x"], "service needs install, uninstall or status (got start) (see whipcast service --help)"],
    [["service", "install", "show"], "service install needs the command to run after --: whipcast service install NAME -- publish URL [flags]"],
    [["service", "install", "show", "--", "publish", "https://e.com/w", "--token", "abcdefgh"], "a service must not carry its token on its command line (it would be written into the service file): use --token-file PATH, readable only by you"],
    [["service", "status"], "Missing required positional argument: NAME (see --help)"],
    [["completions", "powershell"], "completions: the shell must be one of bash, zsh, fish (got powershell)"],
  ])("%j", async (args, message) => {
    const r = await whipcast(args);
    expect(r.errors).toEqual([`whipcast: error: ${message}`]);
    expect(r.exitCode).toBe(2);
  });

  test("a config file with a token that others may read", async () => {
    const config = join(dir, "open.conf");
    writeFileSync(config, "url = https://example.com/whip/x\ntoken = abcdefgh12345678\n");
    chmodSync(config, 0o644);
    const r = await whipcast(["publish", "--config", config]);
    expect(r.errors).toEqual([`whipcast: error: --config ${config} holds a token but others may read it (mode 644); chmod 600 it, or use token-file`]);
    expect(r.exitCode).toBe(2);
  });
});
