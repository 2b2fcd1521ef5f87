import { describe, expect, test } from "bun:test";
import { EncoderControl, KEYFRAME_SPACING_MS, START_VIDEO_BPS } from "../../src/media/encoder-control.ts";

const options = { width: 1280, height: 720, fps: 30, maxBitrate: 2_500_000, minBitrate: 150_000, audioBitrate: 128_000, adapt: true };

describe("EncoderControl: what the encoder should do for an estimate", () => {
  test("adapting, it starts at 1 Mbit/s (under the ceiling); fixed, at the ceiling", () => {
    expect(new EncoderControl(options).setting).toEqual({ bitrate: START_VIDEO_BPS, width: 1280, height: 720, fps: 30 });
    expect(new EncoderControl({ ...options, adapt: false }).setting.bitrate).toBe(2_500_000);
    expect(new EncoderControl({ ...options, maxBitrate: 600_000 }).setting.bitrate).toBe(600_000);
  });

  test("the video budget leaves room for audio and overhead, between the floor and the ceiling", () => {
    const c = new EncoderControl(options);
    expect(c.videoBudget(2_000_000)).toBe(1_670_000);
    expect(c.videoBudget(100_000)).toBe(150_000);
    expect(c.videoBudget(10_000_000)).toBe(2_500_000);
  });

  test.each([
    // estimate → size: 720p down to 540p and 360p, and half the frame rate at the very bottom
    [1_500_000, 1280, 720, 30],
    [800_000, 960, 540, 30],
    [450_000, 640, 360, 30],
    [150_000, 640, 360, 15],
  ])("from the ceiling, a drop to %d bit/s: %dx%d@%d", (estimate, width, height, fps) => {
    const c = new EncoderControl({ ...options, adapt: false, minBitrate: 100_000 });
    const change = c.update(estimate, 10_000);
    expect(change).toBeDefined();
    expect(change!.setting).toMatchObject({ width, height, fps });
  });

  test("down at once on a clear drop, at most once a second on a small one; up only once the estimate has held", () => {
    const c = new EncoderControl(options);
    expect(c.update(1_200_000, 0)).toBeUndefined(); // a budget of 950k for a 1M encoder: within the dead band
    expect(c.update(900_000, 100)!.setting.bitrate).toBe(680_000);
    expect(c.update(700_000, 400)).toBeUndefined(); // small, and under a second since
    expect(c.update(700_000, 1_200)!.setting.bitrate).toBe(500_000);
    expect(c.update(300_000, 1_600)!.setting.bitrate).toBe(150_000); // steep: 300 ms suffices
    // Up: the estimate must stay clear for 3 s.
    expect(c.update(2_000_000, 2_000)).toBeUndefined();
    expect(c.update(2_000_000, 4_000)).toBeUndefined();
    expect(c.update(200_000, 4_500)).toBeUndefined(); // dips: the hold starts again
    expect(c.update(2_000_000, 5_000)).toBeUndefined();
    expect(c.update(2_000_000, 8_100)!.setting.bitrate).toBe(1_670_000);
    // A probe's measurement needs only a second.
    expect(c.update(3_000_000, 9_200, true)!.setting.bitrate).toBe(2_500_000);
  });

  test("a probe's rise stays believed while it holds: the next rung of a probe ladder is taken a second after the last change, though the estimate's own climb came since", () => {
    const c = new EncoderControl({ ...options, minBitrate: 100_000 });
    expect(c.update(400_000, 0)!.setting.bitrate).toBe(230_000); // a drop
    expect(c.update(1_200_000, 5_000, true)!.setting.bitrate).toBe(950_000); // the first probe
    // Its next step lands 300 ms later, too soon after that change; the estimate then climbs on
    // its own ("link clear", not a probe): a second after the change, the encoder follows.
    expect(c.update(2_800_000, 5_300, true)).toBeUndefined();
    expect(c.update(2_820_000, 5_700)).toBeUndefined();
    expect(c.update(2_840_000, 6_000)!.setting.bitrate).toBe(2_430_000);
    // A rise that fell back before it was taken is no longer a probe's: the full hold again.
    const d = new EncoderControl({ ...options, minBitrate: 100_000 });
    d.update(400_000, 0);
    expect(d.update(1_500_000, 300, true)).toBeUndefined(); // under a second since the drop
    expect(d.update(400_000, 600)).toBeUndefined(); // back down: the probe's rise is gone
    expect(d.update(1_500_000, 1_200)).toBeUndefined();
    expect(d.update(1_500_000, 3_000)).toBeUndefined();
    expect(d.update(1_500_000, 4_200)!.setting.bitrate).toBe(1_220_000);
  });

  test("Opus steps down only on a very poor link, and back only well clear of it", () => {
    const c = new EncoderControl(options);
    expect(c.audioBitrate(1_000_000)).toBe(128_000);
    expect(c.audioBitrate(250_000)).toBe(64_000);
    expect(c.audioBitrate(350_000)).toBe(64_000); // hysteresis: under 1.5 × 300k
    expect(c.audioBitrate(160_000)).toBe(32_000);
    expect(c.audioBitrate(500_000)).toBe(128_000);
  });

  test("keyframes on request: one at once, the next no sooner than 500 ms after the last, however many are asked for", () => {
    const c = new EncoderControl(options);
    c.switchLatencyMs = 100;
    expect(c.requestKeyframe(1_000)).toBe(true);
    expect(c.requestKeyframe(1_050)).toBe(false); // in flight: the coming one answers it
    c.keyframeSent(1_100);
    expect(c.requestKeyframe(1_200)).toBe(false); // sent before the receiver had the IDR
    expect(c.keyframeDue()).toBeUndefined();
    expect(c.requestKeyframe(1_300)).toBe(false); // a fresh request, too soon: owed
    expect(c.keyframeDue()).toBe(1_100 + KEYFRAME_SPACING_MS - 100);
    expect(c.requestKeyframe(1_500)).toBe(true); // started so its IDR lands 500 ms after the last
    c.keyframeSent(1_600);
    // A GOP keyframe settles what was owed.
    expect(c.requestKeyframe(1_900)).toBe(false);
    c.keyframeSent(2_000);
    expect(c.keyframeDue()).toBeUndefined();
  });
});
