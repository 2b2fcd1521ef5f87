import { describe, expect, test } from "bun:test";
import { ABS_CAPTURE_TIME_URI, PLAYOUT_DELAY_URI } from "../../src/rtp/header-extensions.ts";
import type { CaptureTimeResult, CaptureTimeScenario } from "./capture-time-scenario.ts";
import { runInNamespace } from "./run-scenario.ts";

const run = (s: CaptureTimeScenario) => runInNamespace<CaptureTimeResult>("capture-time-scenario.ts", s);

describe("capture time at the receiver: whipcast publish → Chromium, loopback-only namespace", () => {
  test("abs-capture-time taken: Chromium reads it off the packets, and requestVideoFrameCallback's captureTime is each frame's capture time, within a few ms", async () => {
    // 8 s: Chromium's first round trip (its RRTR, whipcast's DLRR) and Sender Report came 5 s in
    // once on a loaded runner, leaving 21 frames of a 6 s run to judge.
    const r = await run({ timingExtensions: true, seconds: 8 });
    expect(r.exitCode).toBe(0);
    expect(r.answerExtensions).toEqual(expect.arrayContaining([ABS_CAPTURE_TIME_URI, PLAYOUT_DELAY_URI]));
    // The element as Chromium decoded it: a capture time, and offset 0 (whipcast is the capturer).
    expect(r.senderCaptureTime).toMatchObject({ offset: 0 });
    // Once Chromium has a round trip (RRTR/DLRR) and a Sender Report, every frame has one.
    expect(r.presented).toBeGreaterThan(30);
    expect(r.withCaptureTime).toBe(r.presented);
    // Each frame's captureTime is its own capture stamp: the error is one constant within the run
    // (measured: under 1.5 ms from frame to frame), so a stamp off by a frame (33 ms), rounded to
    // the wrong one, in the wrong unit or from the wrong clock would show. The constant is
    // Chromium's estimate of the offset between its clock and whipcast's, from the Sender
    // Reports and the round trip; on loopback it was −1.4 to +0.3 ms, once 8.6 ms. That estimate
    // moves when a new report or round trip arrives late on a loaded runner (a spread of 8.3 ms
    // seen once), so the bound is a third of a frame interval, still well short of a frame.
    expect(r.errorMs!.spread).toBeLessThanOrEqual(11);
    expect(Math.abs(r.errorMs!.offset)).toBeLessThanOrEqual(15);
    expect(r.errorMs!.max).toBeLessThanOrEqual(20);
  });

  test("a receiver that does not take abs-capture-time or playout-delay: neither is written, the stream still plays, and captureTime still comes from the Sender Reports", async () => {
    const r = await run({ timingExtensions: false, seconds: 6 });
    expect(r.exitCode).toBe(0);
    expect(r.answerExtensions).not.toContain(ABS_CAPTURE_TIME_URI);
    expect(r.answerExtensions).not.toContain(PLAYOUT_DELAY_URI);
    expect(r.senderCaptureTime).toBeNull();
    expect(r.framesDecoded).toBeGreaterThanOrEqual(0.9 * r.framesSent);
    expect(r.withCaptureTime).toBe(r.presented);
    expect(r.errorMs!.spread).toBeLessThanOrEqual(11);
    expect(r.errorMs!.max).toBeLessThanOrEqual(20);
  });
});
