import { spawn } from "node:child_process";

export interface FfmpegOutput {
  /** Exit status; null when killed (timeout) or never started. */
  code: number | null;
  /** stdout and stderr together, as ffmpeg's listings and errors go to either. */
  output: string;
  spawnError?: Error;
}

/** Run a short ffmpeg command (probe, listing, test encode) to completion, killed after `timeoutMs`. */
export function runFfmpeg(ffmpeg: string, args: string[], timeoutMs = 10_000): Promise<FfmpegOutput> {
  return new Promise((resolve) => {
    const child = spawn(ffmpeg, args, { stdio: ["ignore", "pipe", "pipe"] });
    let output = "";
    let spawnError: Error | undefined;
    child.stdout.setEncoding("utf8").on("data", (d: string) => (output += d));
    child.stderr.setEncoding("utf8").on("data", (d: string) => (output += d));
    const timer = setTimeout(() => child.kill("SIGKILL"), timeoutMs);
    child.on("error", (e) => (spawnError = e));
    child.on("close", (code) => {
      clearTimeout(timer);
      resolve(spawnError ? { code: null, output, spawnError } : { code, output });
    });
  });
}

/** `ffmpeg -version`'s version word ("5.1.8-0+deb12u1", "7.1"), or undefined if it would not say. */
export async function ffmpegVersion(ffmpeg: string): Promise<string | undefined> {
  const r = await runFfmpeg(ffmpeg, ["-hide_banner", "-version"], 5_000);
  return /^ffmpeg version (\S+)/m.exec(r.output)?.[1];
}
