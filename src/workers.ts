/**
 * Where the Worker entrypoints live: beside this file when running from source, and at the same
 * relative paths (compiled to .js) inside the `bun build --compile` executable, whose embedded
 * files sit under /$bunfs/root/ (build.ts passes them as extra entrypoints).
 */
export type WorkerName = "codec/opus.worker" | "webrtc/session.worker" | "server/server.worker";

export function workerUrl(name: WorkerName): string {
  const compiled = import.meta.url.includes("$bunfs");
  return new URL(`./${name}.${compiled ? "js" : "ts"}`, import.meta.url).href;
}
