import { afterEach, describe, expect, test } from "bun:test";
import { chmodSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { EncoderProcess } from "../../src/media/encoder-process.ts";
import type { EncoderProcessPlan } from "../../src/media/ffmpeg-args.ts";
import { until } from "../helpers/until.ts";

const plan: EncoderProcessPlan = { encoder: "x264", inputWidth: 64, inputHeight: 48, width: 64, height: 48, fps: 30, videoBitrate: 200_000, keyframeIntervalSeconds: 2 };
const FRAME = (64 * 48 * 3) / 2;
const running: EncoderProcess[] = [];
afterEach(async () => {
  await Promise.all(running.splice(0).map((p) => p.stop(100)));
});

/** Feed one raw frame in `parts` writes, as the capture's pipe reads hand it on. */
function feed(p: EncoderProcess, luma: number, parts = 3): number | undefined {
  const index = p.begin(FRAME);
  if (index === undefined) return undefined;
  const frame = new Uint8Array(FRAME).fill(128).fill(luma, 0, 64 * 48);
  const step = Math.ceil(FRAME / parts);
  for (let at = 0; at < FRAME; at += step) p.write(frame.subarray(at, at + step));
  return index;
}

describe("an encoder process fed raw frames part by part", () => {
  test("every frame fed comes out as one access unit with its own index, the first an IDR", async () => {
    const out: { index: number; keyframe: boolean; size: number }[] = [];
    const p = new EncoderProcess("ffmpeg", 1, plan, (_, f) => out.push({ index: f.index, keyframe: f.keyframe, size: f.data.byteLength }));
    running.push(p);
    for (let i = 0; i < 10; i++) {
      expect(feed(p, 16 + i * 20, 1 + (i % 4))).toBe(i);
      await Bun.sleep(5);
    }
    await until("ten access units", async () => (out.length === 10 ? true : undefined), 10_000);
    expect(out.map((f) => f.index)).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
    expect(out[0]!.keyframe).toBe(true);
    expect(out.every((f) => f.size > 0)).toBe(true);
  });

  test("an encoder that stops reading has frames skipped for it once three are unflushed, instead of being buffered without end", async () => {
    // A stand-in that never reads its stdin: what a stalled encoder looks like from here.
    const dir = mkdtempSync(join(tmpdir(), "whipcast-stall-"));
    try {
      const stalled = join(dir, "stalled-ffmpeg");
      writeFileSync(stalled, "#!/bin/sh\nexec sleep 30\n");
      chmodSync(stalled, 0o755);
      const p = new EncoderProcess(stalled, 1, plan, () => {});
      running.push(p);
      const fed: (number | undefined)[] = [];
      // 400 small frames (1.8 MB) are more than any pipe or socket buffer takes.
      for (let i = 0; i < 400; i++) fed.push(feed(p, 100));
      // The pipe takes some frames; then at most MAX_PENDING_FRAMES wait, and the rest are skipped.
      const taken = fed.filter((x) => x !== undefined).length;
      expect(taken).toBeLessThan(400);
      expect(fed.slice(taken).every((x) => x === undefined)).toBe(true);
      expect(p.unflushedBytes).toBeLessThanOrEqual(4 * FRAME);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
