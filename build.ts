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
import { gitCommit, gitCommitTime } from "./src/version.ts";

export const ENTRYPOINTS = ["src/cli/main.ts", "src/whip/session.worker.ts", "src/codec/opus.worker.ts", "src/server/server.worker.ts"];
export const TARGETS = ["bun-darwin-arm64", "bun-darwin-x64", "bun-linux-x64", "bun-linux-arm64"] as const;

/**
 * A script's `--name value` arguments (build.ts, packaging/release.ts): each known name once, a
 * value after each; anything else ends the script with one line and exit 2.
 */
export function scriptArguments(script: string, argv: string[], known: string[]): { fail(message: string): never; value(name: string): string | undefined } {
  const fail = (message: string): never => {
    console.error(`${script}: ${message}`);
    process.exit(2);
  };
  for (let i = 0; i < argv.length; i += 2) if (!known.includes(argv[i]!)) fail(`unknown argument ${argv[i]}; expected ${known.join(", ")}`);
  return {
    fail,
    value(name) {
      const i = argv.indexOf(name);
      if (i < 0) return undefined;
      const value = argv[i + 1];
      if (value === undefined || value.startsWith("--")) fail(`${name} needs a value`);
      return value;
    },
  };
}


function requestedTargets(value: string | undefined, fail: (message: string) => never): (string | undefined)[] {
  if (value === undefined) return [undefined];
  if (value === "all") return [...TARGETS];
  const names = value.split(",").map((t) => (t.startsWith("bun-") ? t : `bun-${t}`));
  for (const t of names) {
    if (!(TARGETS as readonly string[]).includes(t)) fail(`unknown target ${t}; expected all or ${TARGETS.map((x) => x.slice(4)).join(", ")}`);
  }
  return names;
}

async function main(): Promise<void> {
  const script = scriptArguments("build", process.argv.slice(2), ["--target", "--ffmpeg", "--outfile"]);
  const fail = script.fail;
  const targets = requestedTargets(script.value("--target"), fail);
  const ffmpegChoice = script.value("--ffmpeg") ?? "auto";
  const outfileFlag = script.value("--outfile");
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

  // `whipcast --version` names the commit; doctor's clock check knows when it was made. Both come
  // from git, so the same checkout builds the same bytes.
  const commit = process.env.WHIPCAST_COMMIT || gitCommit(import.meta.dir) || "unknown";
  const commitTime = Number(process.env.SOURCE_DATE_EPOCH) || gitCommitTime(import.meta.dir) || 0;
  const defines = ["--define", `WHIPCAST_COMMIT=${JSON.stringify(commit)}`, "--define", `WHIPCAST_COMMIT_TIME=${commitTime}`];

  for (const target of targets) {
    const outfile = outfileArg ?? (target ? `dist/whipcast-${target.slice(4)}` : "dist/whipcast");
    const targetArgs = target ? ["--target", target] : [];
    // ffmpeg-static's binary (when its download could run) is built for this machine, so `auto`
    // embeds it only in a host build; it is found at run time through Bun.embeddedFiles.
    const embedded = ffmpegChoice === "none" ? undefined : ffmpegChoice === "auto" ? (target === undefined ? packageFfmpeg() : undefined) : ffmpegFile;
    const assets = embedded ? [embedded] : [];
    // --root keeps every entrypoint at its project path inside the executable (src/workers.ts),
    // whether or not an ffmpeg from elsewhere on disk is embedded beside them.
    // --splitting: the Workers share their modules (werift, the protocol code) with the CLI, once.
    await $`bun build --compile --minify --sourcemap=none --splitting --root . ${defines} ${targetArgs} ${ENTRYPOINTS} ${assets} --outfile ${outfile}`.quiet();
    console.log(`built ${outfile}${embedded ? ` (with ${ffmpegChoice === "auto" ? "ffmpeg-static's ffmpeg" : embedded} embedded)` : " (ffmpeg from PATH, --ffmpeg or WHIPCAST_FFMPEG at run time)"}`);
  }
}

// release.ts imports the target list; only running this file builds.
if (import.meta.main) await main();
