#!/usr/bin/env bun
/**
 * Compile whipcast into one executable: `bun build.ts [--target all|TARGET ...]`.
 *
 * The Workers are extra entrypoints, so the compiled binary embeds them and `new Worker(new
 * URL(...))` finds them inside; libopus' WebAssembly is inlined in its package's module. The
 * result runs from any directory with no node_modules.
 */
import { $ } from "bun";
import { packageFfmpeg } from "./src/media/ffmpeg-locate.ts";

export const ENTRYPOINTS = ["src/cli/main.ts", "src/webrtc/session.worker.ts", "src/codec/opus.worker.ts", "src/server/server.worker.ts"];
export const TARGETS = ["bun-darwin-arm64", "bun-darwin-x64", "bun-linux-x64", "bun-linux-arm64"] as const;

function requestedTargets(argv: string[]): (string | undefined)[] {
  const i = argv.indexOf("--target");
  if (i < 0) return [undefined];
  const value = argv[i + 1] ?? "";
  if (value === "all") return [...TARGETS];
  const names = value.split(",").map((t) => (t.startsWith("bun-") ? t : `bun-${t}`));
  for (const t of names) {
    if (!(TARGETS as readonly string[]).includes(t)) {
      console.error(`build: unknown target ${t}; expected all or ${TARGETS.map((x) => x.slice(4)).join(", ")}`);
      process.exit(2);
    }
  }
  return names;
}

for (const target of requestedTargets(process.argv.slice(2))) {
  const outfile = target ? `dist/whipcast-${target.slice(4)}` : "dist/whipcast";
  const targetArgs = target ? ["--target", target] : [];
  // ffmpeg-static's binary (when its download could run) is built for this machine, so only a
  // host build embeds it; it is found at run time through Bun.embeddedFiles.
  const bundled = target === undefined ? packageFfmpeg() : undefined;
  const assets = bundled ? [bundled] : [];
  await $`bun build --compile --minify --sourcemap=none ${targetArgs} ${ENTRYPOINTS} ${assets} --outfile ${outfile}`.quiet();
  console.log(`built ${outfile}${bundled ? " (with ffmpeg from ffmpeg-static)" : ""}`);
}
