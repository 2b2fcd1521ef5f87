import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { createHash } from "node:crypto";
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import pkg from "../../package.json" with { type: "json" };
import { archivesOf, parseSums } from "../../packaging/homebrew/formula.ts";
import { formulaCommands, hasBlocks } from "../../packaging/homebrew/formula-commands.ts";
import { COMMANDS } from "../../src/cli/args.ts";
import { gitCommit } from "../../src/version.ts";
import { ROOT } from "../helpers/binary.ts";

/**
 * `bun run release` for this machine's target, twice: the archive unpacks and its executable
 * runs with no node_modules anywhere near it, the checksums and the Homebrew formula match what
 * was built, and the two builds are byte for byte the same.
 */
const dir = mkdtempSync(join(tmpdir(), "whipcast-release-"));
const outs = [join(dir, "a"), join(dir, "b")];
const host = `${process.platform}-${process.arch === "arm64" ? "arm64" : "x64"}`;
const archive = `whipcast-${pkg.version}-${host}.tar.gz`;
const logs: string[] = [];

beforeAll(async () => {
  // Side by side: each is one core's gzip.
  await Promise.all(
    outs.map(async (out) => {
      await using proc = Bun.spawn([process.execPath, "run", "release", "--target", "host", "--out", out], { cwd: ROOT, stdout: "pipe", stderr: "pipe" });
      const [stdout, stderr, code] = await Promise.all([new Response(proc.stdout).text(), new Response(proc.stderr).text(), proc.exited]);
      if (code !== 0) throw new Error(`release failed (${code}): ${stdout}${stderr}`);
      logs.push(stdout);
    }),
  );
  Bun.spawnSync(["tar", "-xzf", join(outs[0]!, archive), "-C", dir]);
}, 120_000);
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const unpacked = () => join(dir, archive.replace(/\.tar\.gz$/, ""));

describe("bun run release", () => {
  test("prints the archive's compressed size", () => {
    expect(logs[0]).toMatch(new RegExp(`${archive.replace(/\./g, "\\.")}: \\d+\\.\\d MB \\(executable \\d+\\.\\d MB, ffmpeg (embedded|from the system)\\)`));
  });

  test("a target it cannot build, or an unknown argument: one line, exit 2, before anything is built", async () => {
    for (const [args, line] of [
      [["--target", "windows-x64"], "release: unknown target bun-windows-x64; expected all, host or darwin-arm64, darwin-x64, linux-x64, linux-arm64"],
      [["--sign", "yes"], "release: unknown argument --sign; expected --target, --out, --base-url"],
      [["--out"], "release: --out needs a value"],
    ] as const) {
      await using proc = Bun.spawn([process.execPath, join(ROOT, "packaging", "release.ts"), ...args], { cwd: dir, stdout: "pipe", stderr: "pipe" });
      const [stderr, code] = await Promise.all([new Response(proc.stderr).text(), proc.exited]);
      expect({ args, stderr: stderr.trim(), code }).toEqual({ args, stderr: line, code: 2 });
    }
  });

  test("two builds of one commit are the same bytes", () => {
    const a = readFileSync(join(outs[0]!, archive));
    const b = readFileSync(join(outs[1]!, archive));
    expect(a.length).toBeGreaterThan(10_000_000);
    expect(createHash("sha256").update(a).digest("hex")).toBe(createHash("sha256").update(b).digest("hex"));
    expect(readFileSync(join(outs[0]!, "SHA256SUMS"), "utf8")).toBe(readFileSync(join(outs[1]!, "SHA256SUMS"), "utf8"));
  });

  test("SHA256SUMS holds the archive's checksum", () => {
    const sums = parseSums(readFileSync(join(outs[0]!, "SHA256SUMS"), "utf8"));
    expect(sums).toEqual([{ file: archive, sha256: createHash("sha256").update(readFileSync(join(outs[0]!, archive))).digest("hex") }]);
  });

  test("the archive holds the executable, README, licence and completions, with fixed modes", () => {
    const list = Bun.spawnSync(["tar", "-tvzf", join(outs[0]!, archive)]).stdout.toString().trim().split("\n");
    const names = list.map((l) => l.split(/\s+/).at(-1));
    const top = archive.replace(/\.tar\.gz$/, "");
    const ffmpegLicence = names.includes(`${top}/LICENSE.ffmpeg`) ? [`${top}/LICENSE.ffmpeg`] : [];
    expect(names).toEqual([`${top}/`, `${top}/LICENSE`, ...ffmpegLicence, `${top}/README.md`, `${top}/completions/`, `${top}/completions/_whipcast`, `${top}/completions/whipcast.bash`, `${top}/completions/whipcast.fish`, `${top}/whipcast`]);
    expect(list.find((l) => l.endsWith("/whipcast"))).toMatch(/^-rwxr-xr-x 0\/0 /);
    expect(list.find((l) => l.endsWith("/README.md"))).toMatch(/^-rw-r--r-- 0\/0 /);
    expect(readFileSync(join(unpacked(), "LICENSE"), "utf8")).toContain("MIT License");
  });

  test("the unpacked executable runs --version with no node_modules: the version, the commit and the ffmpeg it would use", async () => {
    const exe = join(unpacked(), "whipcast");
    expect(statSync(exe).mode & 0o111).toBe(0o111);
    await using proc = Bun.spawn([exe, "--version"], { cwd: dir, stdout: "pipe", stderr: "pipe", env: { PATH: process.env.PATH ?? "", HOME: dir, XDG_CACHE_HOME: join(dir, "cache") } });
    const [stdout, code] = await Promise.all([new Response(proc.stdout).text(), proc.exited]);
    expect(code).toBe(0);
    const [first, second] = stdout.trim().split("\n");
    // The commit it was built from; `-dirty` as the tree was then.
    expect(first).toMatch(new RegExp(`^whipcast ${pkg.version.replace(/\./g, "\\.")} \\(commit ${gitCommit(ROOT)!.replace(/-dirty$/, "")}(-dirty)?\\)$`));
    expect(second).toMatch(/^ffmpeg \S+: \/\S+ \((embedded|PATH)\)$/);
    expect(readdirSync(dir)).not.toContain("node_modules");
  });

  test("the completions it carries are valid bash, zsh and fish", () => {
    for (const [shell, file] of [["bash", "whipcast.bash"], ["zsh", "_whipcast"], ["fish", "whipcast.fish"]] as const) {
      const r = Bun.spawnSync([shell, "-n", join(unpacked(), "completions", file)], { stderr: "pipe" });
      expect({ shell, code: r.exitCode, stderr: r.stderr.toString() }).toEqual({ shell, code: 0, stderr: "" });
    }
  });
});

describe("the Homebrew formula", () => {
  const formula = () => readFileSync(join(outs[0]!, "whipcast.rb"), "utf8");
  const template = readFileSync(join(ROOT, "packaging", "homebrew", "whipcast.rb"), "utf8");

  test("ruby -c passes, for the template and the generated formula", () => {
    for (const file of [join(ROOT, "packaging", "homebrew", "whipcast.rb"), join(outs[0]!, "whipcast.rb")]) {
      const r = Bun.spawnSync(["ruby", "-c", file], { stdout: "pipe", stderr: "pipe" });
      expect({ file, out: r.stdout.toString().trim(), code: r.exitCode }).toEqual({ file, out: "Syntax OK", code: 0 });
    }
  });

  test("its url and sha256 are the release's, from SHA256SUMS; version from package.json", () => {
    const f = formula();
    const sums = archivesOf(parseSums(readFileSync(join(outs[0]!, "SHA256SUMS"), "utf8")), pkg.version);
    const urls = [...f.matchAll(/^\s+url "([^"]+)"$/gm)].map((m) => m[1]);
    const shas = [...f.matchAll(/^\s+sha256 "([^"]+)"$/gm)].map((m) => m[1]);
    expect(urls).toEqual(sums.map((s) => `${pkg.homepage}/releases/download/v${pkg.version}/${s.file}`));
    expect(shas).toEqual(sums.map((s) => s.sha256));
    expect(f).toContain(`version "${pkg.version}"`);
    expect(f).toContain(process.platform === "darwin" ? "on_macos do" : "on_linux do");
    expect(f).toContain('depends_on "ffmpeg"');
    expect(f).not.toContain("0000000000000000000000000000000000000000000000000000000000000000");
  });

  test("it installs the completions, and has service and test blocks", () => {
    const f = formula();
    expect(hasBlocks(f)).toEqual({ service: true, test: true });
    expect(f).toContain('bash_completion.install "completions/whipcast.bash"');
    expect(f).toContain('zsh_completion.install "completions/_whipcast"');
    expect(f).toContain('fish_completion.install "completions/whipcast.fish"');
    expect(f).toMatch(/keep_alive successful_exit: false/);
    expect(f).toMatch(/log_path var\/"log\/whipcast\.log"/);
  });

  test("every command and flag its service and test blocks name exists", () => {
    const used = formulaCommands(template);
    expect(used.map((u) => `${u.block} ${u.command}`)).toEqual(["service publish", "test ", "test publish", "test doctor"]);
    const problems: string[] = [];
    for (const u of used) {
      const spec = u.command === "" ? { args: { version: { type: "boolean" } } } : COMMANDS.find((c) => c.name === u.command);
      if (!spec) {
        problems.push(`no command ${u.command}`);
        continue;
      }
      for (const f of u.flags) if (!(f.slice(2) in (spec.args ?? {}))) problems.push(`${u.command || "whipcast"} has no ${f}`);
    }
    expect(problems).toEqual([]);
  });

  test("a flag that does not exist is caught", () => {
    const broken = template.replace('"--config"', '"--configuration"');
    const used = formulaCommands(broken).find((u) => u.block === "service")!;
    const publish = COMMANDS.find((c) => c.name === "publish")!;
    expect(used.flags.filter((f) => !(f.slice(2) in publish.args!))).toEqual(["--configuration"]);
  });
});
