import { spawn } from "node:child_process";
import { MediaError } from "../errors.ts";
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

export function probeFile(ffmpeg: string, path: string): Promise<FileStreams> {
  return new Promise((resolve, reject) => {
    const child = spawn(ffmpeg, ["-hide_banner", "-nostdin", "-i", path], { stdio: ["ignore", "ignore", "pipe"] });
    let text = "";
    child.stderr.setEncoding("utf8").on("data", (d: string) => (text += d));
    child.on("error", (e) => reject(new MediaError(`cannot run ffmpeg: ${e.message}`)));
    child.on("close", () => {
      const streams = parseStreamKinds(text);
      if (!streams.video && !streams.audio) {
        const tail = new StderrTail();
        tail.push(text);
        reject(new MediaError(`ffmpeg cannot read ${path}: ${tail.lastError() ?? "no audio or video stream"}`));
      } else resolve(streams);
    });
  });
}
