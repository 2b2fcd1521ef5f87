/**
 * Where the Worker entrypoints live: beside this file when running from source, and inside the
 * `bun build --compile` executable at their project paths (compiled to .js) under /$bunfs/root/,
 * where the executable's own module sits too. build.ts fixes that layout with `--root .`, so an
 * embedded ffmpeg from anywhere on disk does not move them.
 */
export type WorkerName = "codec/opus.worker" | "whip/session.worker" | "server/server.worker";

export function workerUrl(name: WorkerName): string {
  const compiled = import.meta.url.includes("$bunfs");
  return new URL(compiled ? `./src/${name}.js` : `./${name}.ts`, import.meta.url).href;
}
