import { describe, expect, test } from "bun:test";
import fc from "fast-check";
import { AUDIO_CLOCK_RATE, createSessionClocks, RtpClock, VIDEO_CLOCK_RATE } from "../../src/rtp/rtp-clock.ts";

const S = 1_000_000_000n;
const START = 1_700_000_000n * S;

describe("RtpClock", () => {
  test.each([
    // [rate, base, elapsed ns, expected]
    [VIDEO_CLOCK_RATE, 0, 0n, 0],
    [VIDEO_CLOCK_RATE, 1234, 0n, 1234],
    [VIDEO_CLOCK_RATE, 0, S, 90_000],
    [VIDEO_CLOCK_RATE, 0, S / 30n, 3000],
    [AUDIO_CLOCK_RATE, 0, 20_000_000n, 960],
    [AUDIO_CLOCK_RATE, 0, S, 48_000],
    // Wrap edges: base near 2^32 - 1.
    [VIDEO_CLOCK_RATE, 0xffff_ffff, 0n, 0xffff_ffff],
    [VIDEO_CLOCK_RATE, 0xffff_ffff, S / 90_000n + 1n, 0],
    [VIDEO_CLOCK_RATE, 0xffff_fff0, S, (0xffff_fff0 + 90_000) % 2 ** 32],
    [AUDIO_CLOCK_RATE, 0xffff_fc40, 20_000_000n, 0],
    // Before the start (audio captured slightly before the first video frame).
    [AUDIO_CLOCK_RATE, 100, -S / 48_000n, 99],
    [AUDIO_CLOCK_RATE, 0, -S / 48_000n - 1n, 0xffff_ffff],
    // Truncated ns of frame k at 30 fps still land on the exact tick.
    [VIDEO_CLOCK_RATE, 0, (7n * S) / 30n, 21_000],
  ] as const)("rate %d, base %d, +%d ns → %d", (rate, base, elapsed, expected) => {
    expect(new RtpClock(rate, START, base).at(START + elapsed)).toBe(expected);
  });

  test("exact after 24 h at both rates (no drift: no accumulation)", () => {
    const day = 24n * 3600n * S;
    const v = new RtpClock(VIDEO_CLOCK_RATE, START, 7);
    const a = new RtpClock(AUDIO_CLOCK_RATE, START, 7);
    expect(v.at(START + day)).toBe(Number((7n + 90_000n * 86_400n) % 2n ** 32n));
    expect(a.at(START + day)).toBe(Number((7n + 48_000n * 86_400n) % 2n ** 32n));
    // 24 h of 30 fps frames, each stamped from its own capture time, lands exactly on the tick.
    const frames = 30n * 86_400n;
    expect(v.at(START + (frames * S) / 30n)).toBe(Number((7n + frames * 3000n) % 2n ** 32n));
  });

  test("monotonic modulo 2^32: later capture never maps to an earlier tick", () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 2 ** 32 - 1 }), fc.bigInt({ min: 0n, max: 48n * 3600n * S }), fc.bigInt({ min: 0n, max: 10n * S }), fc.constantFrom(VIDEO_CLOCK_RATE, AUDIO_CLOCK_RATE), (base, t, dt, rate) => {
        const clock = new RtpClock(rate, START, base);
        const a = clock.at(START + t);
        const b = clock.at(START + t + dt);
        const forward = (b - a + 2 ** 32) % 2 ** 32;
        // The tick distance equals the elapsed time in ticks, +1 at most for rounding.
        const expected = Number((dt * BigInt(rate)) / S);
        expect(forward === expected || forward === expected + 1).toBe(true);
      }),
    );
  });

  test("u32 range always", () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 2 ** 32 - 1 }), fc.bigInt({ min: -1000n * S, max: 10_000_000n * S }), (base, t) => {
        const ts = new RtpClock(VIDEO_CLOCK_RATE, START, base).at(START + t);
        expect(Number.isInteger(ts) && ts >= 0 && ts < 2 ** 32).toBe(true);
      }),
    );
  });

  test("session clocks share one start and take independent random bases", () => {
    const bases = [11, 22];
    const clocks = createSessionClocks(START, () => bases.shift()!);
    expect([clocks.video.startNs, clocks.audio.startNs]).toEqual([START, START]);
    expect([clocks.video.base, clocks.audio.base]).toEqual([11, 22]);
    expect([clocks.video.clockRate, clocks.audio.clockRate]).toEqual([90_000, 48_000]);
  });

  test("rejects a base outside u32 and a bad rate", () => {
    expect(() => new RtpClock(90_000, 0n, 2 ** 32)).toThrow("u32");
    expect(() => new RtpClock(0, 0n, 0)).toThrow("clock rate");
  });
});
