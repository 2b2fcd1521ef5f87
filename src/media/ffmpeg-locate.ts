import { chmodSync, existsSync, mkdirSync, renameSync, writeFileSync } from "node:fs";
import { createRequire } from "node:module";
import { homedir } from "node:os";
import { join } from "node:path";
import { MediaError, UsageError } from "../errors.ts";

export type FfmpegOrigin = "--ffmpeg" | "WHIPCAST_FFMPEG" | "embedded" | "ffmpeg-static" | "PATH";

/** What to tell a user who has no ffmpeg at all (exit 5). */
export const NO_FFMPEG = "ffmpeg not found: install it (macOS: brew install ffmpeg; Debian/Ubuntu: sudo apt-get install ffmpeg) or pass --ffmpeg PATH";

/**
 * Which ffmpeg to run: `--ffmpeg`, then `WHIPCAST_FFMPEG`, then the one embedded in the compiled
 * executable at build time (ffmpeg-static's binary where that package could download one), or,
 * running from source, the optional `ffmpeg-static` package's binary; then `ffmpeg` on PATH.
 */
export async function locateFfmpeg(flag: string | undefined, env: Record<string, string | undefined> = process.env): Promise<{ path: string; origin: FfmpegOrigin }> {
  if (flag) {
    if (!existsSync(flag)) throw new UsageError(`--ffmpeg ${flag}: no such file`);
    return { path: flag, origin: "--ffmpeg" };
  }
  const fromEnv = env.WHIPCAST_FFMPEG;
  if (fromEnv) {
    if (!existsSync(fromEnv)) throw new UsageError(`WHIPCAST_FFMPEG=${fromEnv}: no such file`);
    return { path: fromEnv, origin: "WHIPCAST_FFMPEG" };
  }
  const embedded = await embeddedFfmpeg(env);
  if (embedded) return { path: embedded, origin: "embedded" };
  const fromPackage = packageFfmpeg();
  if (fromPackage) return { path: fromPackage, origin: "ffmpeg-static" };
  const onPath = Bun.which("ffmpeg", env.PATH !== undefined ? { PATH: env.PATH } : undefined);
  if (onPath) return { path: onPath, origin: "PATH" };
  throw new MediaError(NO_FFMPEG);
}

/**
 * A compiled whipcast may carry an ffmpeg (build.ts embeds ffmpeg-static's binary when the
 * package installed, or the file given to `--ffmpeg`). A program cannot be executed from inside
 * the bundle, so it is written once to the user's cache, keyed by its size, and reused by later
 * runs.
 */
async function embeddedFfmpeg(env: Record<string, string | undefined>): Promise<string | undefined> {
  const blob = Bun.embeddedFiles.find((f) => /(^|\/)ffmpeg(-[0-9a-z]+)?\.?(exe)?$/.test((f as Blob & { name?: string }).name ?? ""));
  if (!blob) return undefined;
  const cache = join(env.XDG_CACHE_HOME ?? join(homedir(), ".cache"), "whipcast");
  const target = join(cache, `ffmpeg-${blob.size}`);
  if (existsSync(target)) return target;
  try {
    mkdirSync(cache, { recursive: true });
    const partial = `${target}.${process.pid}.partial`;
    writeFileSync(partial, new Uint8Array(await blob.arrayBuffer()));
    chmodSync(partial, 0o755);
    renameSync(partial, target);
    return target;
  } catch {
    return undefined;
  }
}

/** The binary that the ffmpeg-static package downloaded into node_modules, if it could. */
export function packageFfmpeg(): string | undefined {
  try {
    const path = createRequire(import.meta.url)("ffmpeg-static") as unknown;
    return typeof path === "string" && existsSync(path) ? path : undefined;
  } catch {
    return undefined;
  }
}
