import { MediaError } from "../errors.ts";
import { type Encoder, type Os, probeArgs } from "./ffmpeg-args.ts";
import { runFfmpeg } from "./ffmpeg-run.ts";

export const FFMPEG_NAME: Record<Encoder, string> = { videotoolbox: "h264_videotoolbox", nvenc: "h264_nvenc", vaapi: "h264_vaapi", x264: "libx264" };

/** `auto` tries these in order and keeps the first that really encodes a frame. */
export function candidateOrder(os: Os): Encoder[] {
  return os === "darwin" ? ["videotoolbox", "nvenc", "vaapi", "x264"] : ["nvenc", "vaapi", "x264"];
}

/** Encoder names in `ffmpeg -encoders` output. */
export function parseEncoderList(text: string): Set<string> {
  const names = new Set<string>();
  for (const line of text.split("\n")) {
    const m = /^\s*[VAS][F.][S.][X.][B.][D.]\s+(\S+)/.exec(line);
    if (m) names.add(m[1]!);
  }
  return names;
}

/**
 * Pick the video encoder. A named one is used as asked once ffmpeg lists it; `auto` test-encodes
 * with every listed candidate at once and takes the first in preference order that succeeded
 * (a listed NVENC with no GPU, or VAAPI with no render node, fails in tens of milliseconds).
 */
export async function selectEncoder(ffmpeg: string, requested: Encoder | "auto", os: Os, vaapiDevice?: string): Promise<{ encoder: Encoder; tried: string[] }> {
  const listed = parseEncoderList((await runFfmpeg(ffmpeg, ["-hide_banner", "-encoders"])).output);
  if (requested !== "auto") {
    if (!listed.has(FFMPEG_NAME[requested])) throw new MediaError(`--encoder ${requested}: this ffmpeg has no ${FFMPEG_NAME[requested]} encoder`);
    return { encoder: requested, tried: [requested] };
  }
  const candidates = candidateOrder(os).filter((e) => listed.has(FFMPEG_NAME[e]));
  const results = await Promise.all(candidates.map(async (e) => ({ e, ok: (await runFfmpeg(ffmpeg, probeArgs(e, vaapiDevice), 8_000)).code === 0 })));
  const winner = results.find((r) => r.ok);
  if (!winner) throw new MediaError(`no working H.264 encoder in this ffmpeg (tried ${candidates.join(", ") || "none listed"})`);
  return { encoder: winner.e, tried: results.map((r) => `${r.e}:${r.ok ? "ok" : "failed"}`) };
}

export interface EncoderTrial {
  encoder: Encoder;
  /** ffmpeg lists it (`ffmpeg -encoders`). */
  listed: boolean;
  /** It encoded three test frames. */
  works: boolean;
  /** Why not, in ffmpeg's words (its last error line). */
  reason?: string;
}

/** Every H.264 encoder whipcast knows, test-encoded (for `whipcast doctor`); not listed ones are not run. */
export async function trialEncoders(ffmpeg: string, os: Os, vaapiDevice?: string): Promise<EncoderTrial[]> {
  const listed = parseEncoderList((await runFfmpeg(ffmpeg, ["-hide_banner", "-encoders"])).output);
  const all: Encoder[] = ["videotoolbox", "nvenc", "vaapi", "x264"];
  return Promise.all(
    all.map(async (encoder): Promise<EncoderTrial> => {
      if (encoder === "videotoolbox" && os !== "darwin") return { encoder, listed: listed.has(FFMPEG_NAME[encoder]), works: false, reason: "macOS only" };
      if (!listed.has(FFMPEG_NAME[encoder])) return { encoder, listed: false, works: false, reason: `this ffmpeg has no ${FFMPEG_NAME[encoder]}` };
      const r = await runFfmpeg(ffmpeg, probeArgs(encoder, vaapiDevice), 8_000);
      if (r.code === 0) return { encoder, listed: true, works: true };
      return { encoder, listed: true, works: false, reason: lastErrorLine(r.output) ?? (r.code === null ? "timed out" : `ffmpeg exited with ${r.code}`) };
    }),
  );
}

/** The most telling line of a failed ffmpeg run: the first error that names a cause, not the generic closing ones. */
export function lastErrorLine(output: string): string | undefined {
  const generic = /^(Error (while opening encoder|initializing output stream|reinitializing filters|opening output files?)|Conversion failed|Could not open encoder before EOF|Nothing was written|Task finished with error|Terminating thread)/i;
  const lines = output.split("\n").map((l) => l.replace(/^\[[^\]]+\]\s*/, "").trim()).filter((l) => l !== "");
  return lines.find((l) => !generic.test(l)) ?? lines.at(-1);
}
