#!/usr/bin/env bun
/**
 * Compile whipcast into one executable:
 *
 *   bun build.ts [--target all|TARGET,...] [--ffmpeg auto|none|PATH] [--outfile PATH]
 *
 * The Workers are extra entrypoints, so the compiled binary embeds them and `new Worker(new
 * URL(...))` finds them inside; libopus' WebAssembly is inlined in its package's module. The
 * result runs from any directory with no node_modules.
 *
 * `--ffmpeg` says which ffmpeg to embed: `auto` (the default) takes ffmpeg-static's binary when
 * that package could download one, for a build for this machine only; `none` embeds nothing (the
 * executable then uses ffmpeg on PATH, as a Homebrew install does); a path embeds that file.
 */
import { existsSync } from "node:fs";
import { basename, resolve } from "node:path";
import { $ } from "bun";
import { packageFfmpeg } from "./src/media/ffmpeg-locate.ts";

export const ENTRYPOINTS = ["src/cli/main.ts", "src/whip/session.worker.ts", "src/codec/opus.worker.ts", "src/server/server.worker.ts"];
export const TARGETS = ["bun-darwin-arm64", "bun-darwin-x64", "bun-linux-x64", "bun-linux-arm64"] as const;

function fail(message: string): never {
  console.error(`build: ${message}`);
  process.exit(2);
}

function flag(argv: string[], name: string): string | undefined {
  const i = argv.indexOf(name);
  if (i < 0) return undefined;
  const value = argv[i + 1];
  if (value === undefined || value.startsWith("--")) fail(`${name} needs a value`);
  return value;
}

function requestedTargets(value: string | undefined): (string | undefined)[] {
  if (value === undefined) return [undefined];
  if (value === "all") return [...TARGETS];
  const names = value.split(",").map((t) => (t.startsWith("bun-") ? t : `bun-${t}`));
  for (const t of names) {
    if (!(TARGETS as readonly string[]).includes(t)) fail(`unknown target ${t}; expected all or ${TARGETS.map((x) => x.slice(4)).join(", ")}`);
  }
  return names;
}

const argv = process.argv.slice(2);
const known = new Set(["--target", "--ffmpeg", "--outfile"]);
for (let i = 0; i < argv.length; i += 2) if (!known.has(argv[i]!)) fail(`unknown argument ${argv[i]}; expected ${[...known].join(", ")}`);
const targets = requestedTargets(flag(argv, "--target"));
const ffmpegChoice = flag(argv, "--ffmpeg") ?? "auto";
const outfileFlag = flag(argv, "--outfile");
const ffmpegFile = ffmpegChoice === "auto" || ffmpegChoice === "none" ? undefined : resolve(ffmpegChoice);
// Paths on the command line are the caller's; the build itself runs from the project root.
const outfileArg = outfileFlag === undefined ? undefined : resolve(outfileFlag);
process.chdir(import.meta.dir);
if (outfileFlag !== undefined && targets.length > 1) fail("--outfile names one executable; give one --target");
if (ffmpegFile !== undefined) {
  if (!existsSync(ffmpegFile)) fail(`--ffmpeg ${ffmpegChoice}: no such file`);
  // The executable finds its embedded ffmpeg by this name (src/media/ffmpeg-locate.ts).
  if (!/^ffmpeg(\.exe)?$/.test(basename(ffmpegFile))) fail(`--ffmpeg ${ffmpegChoice}: the file must be named ffmpeg (or ffmpeg.exe)`);
}

for (const target of targets) {
  const outfile = outfileArg ?? (target ? `dist/whipcast-${target.slice(4)}` : "dist/whipcast");
  const targetArgs = target ? ["--target", target] : [];
  // ffmpeg-static's binary (when its download could run) is built for this machine, so `auto`
  // embeds it only in a host build; it is found at run time through Bun.embeddedFiles.
  const embedded = ffmpegChoice === "none" ? undefined : ffmpegChoice === "auto" ? (target === undefined ? packageFfmpeg() : undefined) : ffmpegFile;
  const assets = embedded ? [embedded] : [];
  // --root keeps every entrypoint at its project path inside the executable (src/workers.ts),
  // whether or not an ffmpeg from elsewhere on disk is embedded beside them.
  await $`bun build --compile --minify --sourcemap=none --root . ${targetArgs} ${ENTRYPOINTS} ${assets} --outfile ${outfile}`.quiet();
  console.log(`built ${outfile}${embedded ? ` (with ${ffmpegChoice === "auto" ? "ffmpeg-static's ffmpeg" : embedded} embedded)` : " (ffmpeg from PATH, --ffmpeg or WHIPCAST_FFMPEG at run time)"}`);
}
