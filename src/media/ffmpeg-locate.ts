import { existsSync } from "node:fs";
import { createRequire } from "node:module";
import { MediaError, UsageError } from "../errors.ts";

export type FfmpegOrigin = "--ffmpeg" | "WHIPCAST_FFMPEG" | "ffmpeg-static" | "PATH";

/**
 * Which ffmpeg to run: `--ffmpeg`, then `WHIPCAST_FFMPEG`, then the binary the optional
 * `ffmpeg-static` package downloaded (absent where its install script could not run), then
 * `ffmpeg` on PATH.
 */
export function locateFfmpeg(flag: string | undefined, env: Record<string, string | undefined> = process.env): { path: string; origin: FfmpegOrigin } {
  if (flag) {
    if (!existsSync(flag)) throw new UsageError(`--ffmpeg ${flag}: no such file`);
    return { path: flag, origin: "--ffmpeg" };
  }
  const fromEnv = env.WHIPCAST_FFMPEG;
  if (fromEnv) {
    if (!existsSync(fromEnv)) throw new UsageError(`WHIPCAST_FFMPEG=${fromEnv}: no such file`);
    return { path: fromEnv, origin: "WHIPCAST_FFMPEG" };
  }
  const bundled = ffmpegStaticPath();
  if (bundled) return { path: bundled, origin: "ffmpeg-static" };
  const onPath = Bun.which("ffmpeg", env.PATH !== undefined ? { PATH: env.PATH } : undefined);
  if (onPath) return { path: onPath, origin: "PATH" };
  throw new MediaError(`ffmpeg not found: install it (macOS: brew install ffmpeg; Debian/Ubuntu: sudo apt-get install ffmpeg) or pass --ffmpeg PATH`);
}

function ffmpegStaticPath(): string | undefined {
  try {
    const path = createRequire(import.meta.url)("ffmpeg-static") as unknown;
    return typeof path === "string" && existsSync(path) ? path : undefined;
  } catch {
    return undefined;
  }
}
