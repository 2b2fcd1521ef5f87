import { MediaError } from "../errors.ts";
import { runFfmpeg } from "./ffmpeg-run.ts";
import { StderrTail } from "./ffmpeg-stderr.ts";

export interface FileStreams {
  video: boolean;
  audio: boolean;
}

/** Which stream kinds `ffmpeg -i FILE` reports (ffprobe is not always installed beside ffmpeg). */
export function parseStreamKinds(stderr: string): FileStreams {
  const kinds = [...stderr.matchAll(/^\s*Stream #\d+:\d+.*?: (Video|Audio):/gm)].map((m) => m[1]);
  // Cover art is an attached picture, not a video stream to publish.
  const covers = [...stderr.matchAll(/^\s*Stream #\d+:\d+.*?: Video:.*\(attached pic\)/gm)].length;
  return { video: kinds.filter((k) => k === "Video").length > covers, audio: kinds.includes("Audio") };
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
