#!/usr/bin/env bun
/**
 * Release archives, checksums and the Homebrew formula:
 *
 *   bun run release [--target all|host|TARGET,...] [--out DIR] [--base-url URL]
 *
 * writes DIR (default dist/release):
 *   whipcast-VERSION-OS-ARCH.tar.gz   the executable, README.md, LICENSE, completions/
 *   SHA256SUMS                        one `sha256sum` line per archive
 *   whipcast.rb                       the formula, from packaging/homebrew/whipcast.rb
 *
 * The archives are reproducible: the same commit gives the same bytes. Every file time is the
 * commit's time (SOURCE_DATE_EPOCH overrides it), entries are in a fixed order with fixed modes
 * and no owner names, and the gzip header carries no time or OS. The executable's own bytes do
 * not depend on the build directory (build.ts), and ffmpeg is embedded only where ffmpeg-static
 * installed a binary for that very target: the host's.
 */
import { createHash } from "node:crypto";
import { chmodSync, cpSync, existsSync, mkdirSync, readFileSync, rmSync, statSync, utimesSync, writeFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { $ } from "bun";
import { create } from "tar";
import pkg from "../package.json" with { type: "json" };
import { scriptArguments, TARGETS } from "../build.ts";
import { COMMANDS } from "../src/cli/args.ts";
import { completionScript } from "../src/cli/completions.ts";
import { packageFfmpeg } from "../src/media/ffmpeg-locate.ts";
import { gitCommit, gitCommitTime } from "../src/version.ts";
import { archivesOf, parseSums, renderFormula } from "./homebrew/formula.ts";

const ROOT = resolve(import.meta.dir, "..");

const script = scriptArguments("release", process.argv.slice(2), ["--target", "--out", "--base-url"]);
const fail: (message: string) => never = script.fail;

const hostTarget = `bun-${process.platform}-${process.arch === "arm64" ? "arm64" : "x64"}`;
const targetFlag = script.value("--target") ?? "all";
const targets =
  targetFlag === "all"
    ? [...TARGETS]
    : targetFlag === "host"
      ? [hostTarget]
      : targetFlag.split(",").map((t) => (t.startsWith("bun-") ? t : `bun-${t}`));
for (const t of targets) if (!(TARGETS as readonly string[]).includes(t)) fail(`unknown target ${t}; expected all, host or ${TARGETS.map((x) => x.slice(4)).join(", ")}`);
const out = resolve(script.value("--out") ?? join(ROOT, "dist", "release"));
const version = pkg.version;
const baseUrl = (script.value("--base-url") ?? `${pkg.homepage}/releases/download/v${version}`).replace(/\/$/, "");
const commit = gitCommit(ROOT) ?? "unknown";
const epoch = Number(process.env.SOURCE_DATE_EPOCH) || gitCommitTime(ROOT);
if (!epoch) fail("no commit time: run from a git checkout, or set SOURCE_DATE_EPOCH");
const mtime = new Date(epoch * 1000);

rmSync(out, { recursive: true, force: true });
mkdirSync(out, { recursive: true });
const stageRoot = join(out, ".stage");

/** Build one target into its staged folder; returns the folder's name inside the archive. */
async function stage(target: string): Promise<{ name: string; embedded: boolean }> {
  const [, os, arch] = target.split("-");
  const name = `whipcast-${version}-${os}-${arch}`;
  const dir = join(stageRoot, name);
  mkdirSync(join(dir, "completions"), { recursive: true });
  // ffmpeg-static downloaded a binary for this machine only; other targets get none.
  const ffmpeg = target === hostTarget ? packageFfmpeg() : undefined;
  const env = { ...process.env, WHIPCAST_COMMIT: commit, SOURCE_DATE_EPOCH: String(epoch) };
  const r = await $`bun ${join(ROOT, "build.ts")} --target ${target} --ffmpeg ${ffmpeg ?? "none"} --outfile ${join(dir, "whipcast")}`.env(env).quiet().nothrow();
  if (r.exitCode !== 0) fail(`building ${target} failed: ${r.stderr.toString().trim().split("\n").at(-1)}`);
  cpSync(join(ROOT, "README.md"), join(dir, "README.md"));
  cpSync(join(ROOT, "LICENSE"), join(dir, "LICENSE"));
  writeFileSync(join(dir, "completions", "whipcast.bash"), completionScript("bash", COMMANDS));
  writeFileSync(join(dir, "completions", "_whipcast"), completionScript("zsh", COMMANDS));
  writeFileSync(join(dir, "completions", "whipcast.fish"), completionScript("fish", COMMANDS));
  // ffmpeg's own licence goes with it, where one is embedded.
  const ffmpegLicence = ffmpeg ? `${ffmpeg}.LICENSE` : undefined;
  if (ffmpegLicence && existsSync(ffmpegLicence)) cpSync(ffmpegLicence, join(dir, "LICENSE.ffmpeg"));
  return { name, embedded: ffmpeg !== undefined };
}

/** The archive's entries, in a fixed order, each with a fixed mode and the commit's time. */
function entries(name: string): string[] {
  const files = ["whipcast", "README.md", "LICENSE", "LICENSE.ffmpeg", "completions/whipcast.bash", "completions/_whipcast", "completions/whipcast.fish"];
  const list = [name, `${name}/completions`, ...files.map((f) => `${name}/${f}`)].filter((p) => existsSync(join(stageRoot, p)));
  for (const p of list) {
    const abs = join(stageRoot, p);
    chmodSync(abs, statSync(abs).isDirectory() || p.endsWith("/whipcast") ? 0o755 : 0o644);
    utimesSync(abs, mtime, mtime);
  }
  return list.sort((a, b) => (a === name ? -1 : b === name ? 1 : a < b ? -1 : a > b ? 1 : 0));
}

const sums: string[] = [];
for (const target of targets) {
  const { name, embedded } = await stage(target);
  const file = `${name}.tar.gz`;
  await create({ file: join(out, file), cwd: stageRoot, gzip: { level: 9 }, portable: true, mtime, noDirRecurse: true, noPax: true }, entries(name));
  const bytes = readFileSync(join(out, file));
  const sha256 = createHash("sha256").update(bytes).digest("hex");
  sums.push(`${sha256}  ${file}`);
  const exe = statSync(join(stageRoot, name, "whipcast")).size;
  console.log(`${file}: ${(bytes.length / 1e6).toFixed(1)} MB (executable ${(exe / 1e6).toFixed(1)} MB${embedded ? ", ffmpeg embedded" : ", ffmpeg from the system"})`);
}
rmSync(stageRoot, { recursive: true, force: true });
sums.sort((a, b) => (a.slice(66) < b.slice(66) ? -1 : 1));
writeFileSync(join(out, "SHA256SUMS"), `${sums.join("\n")}\n`);
const template = readFileSync(join(import.meta.dir, "homebrew", "whipcast.rb"), "utf8");
writeFileSync(join(out, "whipcast.rb"), renderFormula(template, version, baseUrl, archivesOf(parseSums(sums.join("\n")), version)));
console.log(`SHA256SUMS and whipcast.rb (the Homebrew formula) in ${out}; commit ${commit}`);
