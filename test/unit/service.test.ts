import { afterEach, beforeEach, describe, expect, test } from "bun:test";
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { installService, type ServiceContext, selfCommand, serviceStatus, uninstallService } from "../../src/cli/service.ts";
import { ServiceError, UsageError } from "../../src/errors.ts";
import { parseLaunchctlPrint } from "../../src/service/launchd.ts";
import { parseSystemctlShow, systemdQuote } from "../../src/service/systemd.ts";
import { BINARY } from "../helpers/binary.ts";

/**
 * `whipcast service install / uninstall / status` against a temporary HOME, with launchctl and
 * systemctl behind a recording runner; what they would load is checked by Python's plistlib and
 * by systemd-analyze.
 */
const TOKEN = "s3cret-stream-key-0123456789";
let home: string;
let calls: string[][];
let printed: string[];
let answer: (argv: string[]) => { code: number; stdout: string; stderr: string };

function ctx(platform: "linux" | "darwin", env: Record<string, string | undefined> = {}): ServiceContext {
  return {
    platform,
    home,
    uid: 501,
    env: { PATH: "/opt/homebrew/bin:/usr/bin:/bin", ...env },
    cwd: join(home, "work"),
    run: async (argv) => {
      calls.push(argv);
      return answer(argv);
    },
    self: [BINARY],
    print: (line) => printed.push(line),
  };
}

beforeEach(() => {
  home = mkdtempSync(join(tmpdir(), "whipcast-home-"));
  mkdirSync(join(home, "work"));
  writeFileSync(join(home, "work", "token"), `${TOKEN}\n`, { mode: 0o600 });
  chmodSync(join(home, "work", "token"), 0o600);
  calls = [];
  printed = [];
  answer = () => ({ code: 0, stdout: "", stderr: "" });
});
afterEach(() => rmSync(home, { recursive: true, force: true }));

const publish = ["publish", "https://example.com/whip/show", "--token-file", "token", "--source", "test"];
const unitPath = () => join(home, ".config", "systemd", "user", "whipcast-show.service");
const plistPath = () => join(home, "Library", "LaunchAgents", "whipcast.show.plist");

describe("systemd (Linux)", () => {
  test("install writes a user unit that restarts on failure only, logs JSON to a file, and never holds the token", async () => {
    expect(await installService("show", publish, ctx("linux"))).toBe(0);
    const unit = readFileSync(unitPath(), "utf8");
    expect(statSync(unitPath()).mode & 0o777).toBe(0o600);
    expect(unit).not.toContain(TOKEN);
    const exec = unit.split("\n").find((l) => l.startsWith("ExecStart="));
    expect(exec).toBe(`ExecStart=${BINARY} publish https://example.com/whip/show --token-file ${join(home, "work", "token")} --source test --log json`);
    expect(unit).toContain("\nRestart=on-failure\n");
    expect(unit).toContain("\nRestartSec=10\n");
    expect(unit).toContain("\nRestartPreventExitStatus=2 3 7\n");
    expect(unit).toContain(`\nStandardError=append:${join(home, ".local", "state", "whipcast", "show.log")}\n`);
    expect(calls).toEqual([
      ["systemctl", "--user", "daemon-reload"],
      ["systemctl", "--user", "enable", "--now", "whipcast-show.service"],
    ]);
    expect(printed[0]).toBe(`installed whipcast-show.service (publish to https://example.com/whip/show): ${unitPath()}`);
  });

  test("the unit passes systemd-analyze verify with no warnings", async () => {
    await installService("show", publish, ctx("linux"));
    const r = Bun.spawnSync(["systemd-analyze", "verify", unitPath()], { stdout: "pipe", stderr: "pipe" });
    expect({ code: r.exitCode, stderr: r.stderr.toString() }).toEqual({ code: 0, stderr: "" });
  });

  test("ExecStart quoting: spaces, quotes, % and $ survive systemd's parser", () => {
    expect(["plain", "a b", 'say "hi"', "50%", "$HOME", ""].map(systemdQuote)).toEqual(["plain", '"a b"', '"say \\"hi\\""', '"50%%"', '"$$HOME"', '""']);
  });

  test("uninstall stops it and removes what install wrote", async () => {
    await installService("show", publish, ctx("linux"));
    calls = [];
    expect(await uninstallService("show", ctx("linux"))).toBe(0);
    expect(existsSync(unitPath())).toBe(false);
    expect(calls).toEqual([
      ["systemctl", "--user", "disable", "--now", "whipcast-show.service"],
      ["systemctl", "--user", "daemon-reload"],
    ]);
  });

  test("status: state, pid, restarts and the log's last line", async () => {
    await installService("show", publish, ctx("linux"));
    writeFileSync(join(home, ".local", "state", "whipcast", "show.log"), `${JSON.stringify({ time: "2026-12-02T03:00:00.000Z", level: "info", msg: "live: test pattern → https://example.com/whip/show" })}\n`);
    answer = () => ({ code: 0, stdout: "ActiveState=active\nSubState=running\nMainPID=4242\nNRestarts=2\nExecMainStatus=0\nExecMainExitTimestamp=\n", stderr: "" });
    printed = [];
    expect(await serviceStatus("show", ctx("linux"))).toBe(0);
    expect(printed).toEqual([
      "show: running, pid 4242, restarted 2 times",
      `file: ${unitPath()}`,
      `log: ${join(home, ".local", "state", "whipcast", "show.log")}; last: 2026-12-02T03:00:00.000Z info: live: test pattern → https://example.com/whip/show`,
    ]);
  });

  test("a failed load leaves nothing installed", async () => {
    answer = (argv) => (argv.includes("enable") ? { code: 1, stdout: "", stderr: "Failed to connect to bus: No medium found\n" } : { code: 0, stdout: "", stderr: "" });
    const error = await installService("show", publish, ctx("linux")).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ServiceError);
    expect((error as Error).message).toBe("systemctl --user enable --now whipcast-show.service failed (exit 1): Failed to connect to bus: No medium found");
    expect(existsSync(unitPath())).toBe(false);
  });
});

describe("launchd (macOS)", () => {
  test("install writes an agent plist: KeepAlive only after a failure, throttled, logging to ~/Library/Logs; no token in it", async () => {
    expect(await installService("show", publish, ctx("darwin"))).toBe(0);
    const text = readFileSync(plistPath(), "utf8");
    expect(text).not.toContain(TOKEN);
    const parsed = Bun.spawnSync(["python3", "-c", "import json, plistlib, sys; print(json.dumps(plistlib.load(open(sys.argv[1], 'rb'))))", plistPath()], { stdout: "pipe", stderr: "pipe" });
    expect(parsed.stderr.toString()).toBe("");
    const plist = JSON.parse(parsed.stdout.toString()) as Record<string, unknown>;
    const log = join(home, "Library", "Logs", "whipcast", "show.log");
    expect(plist).toEqual({
      Label: "whipcast.show",
      ProgramArguments: [BINARY, "publish", "https://example.com/whip/show", "--token-file", join(home, "work", "token"), "--source", "test", "--log", "json"],
      RunAtLoad: true,
      KeepAlive: { SuccessfulExit: false },
      ThrottleInterval: 10,
      ProcessType: "Interactive",
      WorkingDirectory: home,
      EnvironmentVariables: { PATH: "/opt/homebrew/bin:/usr/bin:/bin" },
      StandardOutPath: log,
      StandardErrorPath: log,
    });
    expect(calls).toEqual([["launchctl", "bootstrap", "gui/501", plistPath()]]);
  });

  test("reinstalling boots the old one out first; uninstall removes the plist", async () => {
    await installService("show", publish, ctx("darwin"));
    calls = [];
    await installService("show", [...publish, "--fps", "25"], ctx("darwin"));
    expect(calls).toEqual([
      ["launchctl", "bootout", "gui/501/whipcast.show"],
      ["launchctl", "bootstrap", "gui/501", plistPath()],
    ]);
    calls = [];
    await uninstallService("show", ctx("darwin"));
    expect(existsSync(plistPath())).toBe(false);
    expect(calls).toEqual([["launchctl", "bootout", "gui/501/whipcast.show"]]);
  });

  test("launchctl print: state, pid, last exit code, runs", () => {
    expect(parseLaunchctlPrint("gui/501/whipcast.show = {\n\tactive count = 1\n\tstate = running\n\tpid = 777\n\truns = 3\n\tlast exit code = 4\n}")).toEqual({ running: true, state: "running", pid: 777, lastExitStatus: 4, restarts: 2 });
    expect(parseSystemctlShow("ActiveState=failed\nSubState=failed\nMainPID=0\nNRestarts=20\nExecMainStatus=4\nExecMainExitTimestamp=Wed 2026-12-02 03:00:00 UTC")).toEqual({ running: false, state: "failed (failed)", restarts: 20, lastExitStatus: 4 });
  });
});

describe("what install refuses (nothing is written)", () => {
  test.each([
    [["publish", "https://example.com/whip/show", "--token", TOKEN], "a service must not carry its token on its command line (it would be written into the service file): use --token-file PATH, readable only by you"],
    [["serve"], "a service runs whipcast publish: whipcast service install NAME -- publish URL [flags] (got serve after --)"],
    [["publish", "--source", "test"], "a service needs the WHIP URL (or --config FILE with url = ...): whipcast service install NAME -- publish URL [flags]"],
    [["publish", "https://example.com/w", "--fsp", "30"], "unknown flag --fsp (see whipcast publish --help)"],
    [["publish", "https://example.com/w", "--fps", "0"], "--fps must be an integer from 1 to 120 (got 0)"],
  ])("%j", async (command, message) => {
    const error = await installService("show", command, ctx("linux")).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(UsageError);
    expect((error as Error).message).toBe(message);
    expect(existsSync(unitPath())).toBe(false);
    expect(calls).toEqual([]);
  });

  test("a token file others may read", async () => {
    chmodSync(join(home, "work", "token"), 0o644);
    const error = await installService("show", publish, ctx("linux")).catch((e: unknown) => e);
    expect((error as Error).message).toBe(`--token-file ${join(home, "work", "token")} may be read by others (mode 644); chmod 600 ${join(home, "work", "token")}`);
  });

  test("WHIP_TOKEN, which a service would not inherit", async () => {
    const error = await installService("show", ["publish", "https://example.com/w"], ctx("linux", { WHIP_TOKEN: TOKEN })).catch((e: unknown) => e);
    expect((error as Error).message).toBe("WHIP_TOKEN is set, but a service does not inherit it: put the token in a file (chmod 600) and pass --token-file PATH");
  });

  test("a name that is not a file name", async () => {
    const error = await installService("../evil", publish, ctx("linux")).catch((e: unknown) => e);
    expect((error as Error).message).toBe('service name must be 1 to 64 letters, digits, \'.\', \'_\' or \'-\', starting with a letter or digit (got "../evil")');
  });

  test("uninstall or status of a service never installed", async () => {
    const error = await uninstallService("nope", ctx("linux")).catch((e: unknown) => e);
    expect((error as Error).message).toBe(`no service nope is installed (no ${join(home, ".config", "systemd", "user", "whipcast-nope.service")})`);
  });
});

describe("the command a service runs", () => {
  test("a Homebrew install runs from its opt link, which outlives upgrades; a checkout runs bun and main.ts", () => {
    expect(selfCommand("/opt/homebrew/Cellar/whipcast/0.1.0/bin/whipcast", "file:///$bunfs/root/src/cli/service.js")).toEqual(["/opt/homebrew/opt/whipcast/bin/whipcast"]);
    expect(selfCommand("/usr/local/bin/whipcast", "file:///$bunfs/root/src/cli/service.js")).toEqual(["/usr/local/bin/whipcast"]);
    expect(selfCommand("/usr/bin/bun", "file:///work/whipcast/src/cli/service.ts")).toEqual(["/usr/bin/bun", "/work/whipcast/src/cli/main.ts"]);
  });
});
