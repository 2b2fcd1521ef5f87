import { afterAll, beforeAll, expect, test } from "bun:test";
import { existsSync } from "node:fs";
import type { Subprocess } from "bun";
import { MediaCapture } from "../../src/media/capture.ts";
import { buildFfmpegArgs, type MediaPlan } from "../../src/media/ffmpeg-args.ts";
import { nowNs } from "../../src/rtp/ntp.ts";

// A virtual X screen, captured by the real capture ffmpeg as `--source screen` would be. A Linux
// screen's frames are stamped from the wall clock as they are grabbed, so how long each takes
// to reach whipcast is measured, not inferred.
const DISPLAY = `:${140 + (process.pid % 50)}`;
let xvfb: Subprocess | undefined;

beforeAll(async () => {
  xvfb = Bun.spawn(["Xvfb", DISPLAY, "-screen", "0", "640x360x24", "-nolisten", "tcp"], { stdout: "ignore", stderr: "ignore" });
  const socket = `/tmp/.X11-unix/X${DISPLAY.slice(1)}`;
  for (let i = 0; i < 100 && !existsSync(socket); i++) await Bun.sleep(50);
  if (!existsSync(socket)) throw new Error(`Xvfb did not start on ${DISPLAY}`);
});
afterAll(() => {
  xvfb?.kill();
});

test("each raw frame leaves the capture as soon as it is grabbed, not once the next one has come in", async () => {
  // 10 fps: a frame every 100 ms, so a frame held back inside ffmpeg stands out from any
  // scheduling delay on a loaded machine.
  const plan: MediaPlan = { os: "linux", source: { kind: "screen" }, display: DISPLAY, video: true, audio: false, width: 640, height: 360, fps: 10, videoBitrate: 300_000, keyframeIntervalSeconds: 2, encoder: "x264" };
  const lateMs: number[] = [];
  let ended: () => void = () => {};
  const exited = new Promise<void>((resolve) => (ended = resolve));
  const capture = new MediaCapture("ffmpeg", buildFfmpegArgs(plan), {
    videoFrame: (captureNs, size) => {
      expect(size).toBe((640 * 360 * 3) / 2);
      lateMs.push(Number(nowNs() - captureNs) / 1e6);
      return undefined;
    },
    audio: () => {},
    exit: () => ended(),
  });
  await Bun.sleep(3_000);
  await capture.stop();
  await exited;
  expect(lateMs.length).toBeGreaterThanOrEqual(20);
  const sorted = lateMs.slice(3).sort((a, b) => a - b);
  // Held back one frame (ffmpeg's default frame-threaded rawvideo encoder), p50 reads ~100 ms here.
  expect(sorted[sorted.length >> 1]!).toBeLessThan(50);
});
