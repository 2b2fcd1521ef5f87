import { MediaError } from "../errors.ts";
import { runFfmpeg } from "./ffmpeg-run.ts";
import { StderrTail } from "./ffmpeg-stderr.ts";

export interface FileStreams {
  video: boolean;
  audio: boolean;
  /** The first video stream's picture size (with square pixels), when ffmpeg reports one. */
  videoSize?: { width: number; height: number };
  /** The first video stream's frame rate, when ffmpeg states one ("30 fps", "29.97 fps"). */
  videoFps?: number;
  /** The first video stream's pixel format as ffmpeg decodes it ("yuvj420p", "yuv420p"). */
  videoPixelFormat?: string;
}

/** Which stream kinds `ffmpeg -i FILE` reports (ffprobe is not always installed beside ffmpeg). */
export function parseStreamKinds(stderr: string): FileStreams {
  const kinds = [...stderr.matchAll(/^\s*Stream #\d+:\d+.*?: (Video|Audio):/gm)].map((m) => m[1]);
  // Cover art is an attached picture, not a video stream to publish.
  const covers = [...stderr.matchAll(/^\s*Stream #\d+:\d+.*?: Video:.*\(attached pic\)/gm)].length;
  const out: FileStreams = { video: kinds.filter((k) => k === "Video").length > covers, audio: kinds.includes("Audio") };
  // "Video: mjpeg (Baseline) (MJPG / 0x47504A4D), yuvj420p(pc, bt470bg/unknown/unknown), 1280x720 [SAR 1:1 DAR 16:9], …"
  const first = /^\s*Stream #\d+:\d+.*?: Video: (?!.*\(attached pic\)).*$/m.exec(stderr)?.[0];
  const size = first ? /, (\d{2,5})x(\d{2,5})(?: \[SAR (\d+):(\d+)|[,\s]|$)/.exec(first) : null;
  if (size && (size[3] === undefined || size[3] === size[4])) out.videoSize = { width: Number(size[1]), height: Number(size[2]) };
  const fps = first ? /, (\d+(?:\.\d+)?) fps\b/.exec(first) : null;
  if (fps && Number(fps[1]) > 0) out.videoFps = Number(fps[1]);
  // The first field after the codec (and its parenthesised details) that names a pixel format.
  const pix = first ? /\), ([a-z][a-z0-9]*p[a-z0-9]*)[(,]|Video: [a-z0-9_]+, ([a-z][a-z0-9]*p[a-z0-9]*)[(,]/.exec(first) : null;
  if (pix) out.videoPixelFormat = pix[1] ?? pix[2];
  return out;
}

export async function probeFile(ffmpeg: string, path: string): Promise<FileStreams> {
  const { output, spawnError } = await runFfmpeg(ffmpeg, ["-hide_banner", "-nostdin", "-i", path]);
  if (spawnError) throw new MediaError(`cannot run ffmpeg: ${spawnError.message}`);
  const streams = parseStreamKinds(output);
  if (!streams.video && !streams.audio) {
    // ffmpeg read the file but found only other streams (subtitles, data): say that, not its
    // complaint that `-i` alone names no output.
    if (/^\s*Stream #\d+:\d+/m.test(output)) throw new MediaError(`${path} has no audio or video stream`);
    const tail = new StderrTail();
    tail.push(output);
    throw new MediaError(`ffmpeg cannot read ${path}: ${tail.lastError() ?? "no audio or video stream"}`);
  }
  return streams;
}
