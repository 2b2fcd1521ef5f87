import { describe, expect, test } from "bun:test";
import fc from "fast-check";
import { SendLatency } from "../../src/rtc/send-latency.ts";

describe("SendLatency: per-frame hand-off percentiles in fixed memory", () => {
  test("no samples, no percentile", () => {
    expect(new SendLatency().percentileMs(99)).toBeUndefined();
  });

  test.each([
    // [samples in µs, p, expected ms: the upper edge of the nearest-rank sample's 10 µs bin]
    [[500], 50, 0.51],
    [[100, 200, 300, 400], 50, 0.21],
    [[100, 200, 300, 400], 99, 0.41],
    [[...Array(99).fill(300), 5_000], 99, 0.31],
    [[...Array(98).fill(300), 5_000, 5_000], 99, 5.01],
    [[250_000], 50, 100],
    [[0], 50, 0.01],
  ])("%j at p%d → %d ms", (samplesUs, p, expected) => {
    const h = new SendLatency();
    for (const us of samplesUs) h.add(us * 1000);
    expect(h.percentileMs(p)).toBeCloseTo(expected, 9);
  });

  test("within one 10 µs bin of the exact nearest-rank percentile, for any samples under 100 ms", () => {
    fc.assert(
      fc.property(fc.array(fc.integer({ min: 0, max: 99_999_999 }), { minLength: 1, maxLength: 300 }), fc.integer({ min: 1, max: 100 }), (ns, p) => {
        const h = new SendLatency();
        for (const v of ns) h.add(v);
        const sorted = [...ns].sort((a, b) => a - b);
        const exactMs = sorted[Math.ceil((p / 100) * sorted.length) - 1]! / 1e6;
        const got = h.percentileMs(p)!;
        expect(got).toBeGreaterThan(exactMs);
        expect(got - exactMs).toBeLessThanOrEqual(0.01 + 1e-9);
        expect(h.count).toBe(ns.length);
      }),
    );
  });
});
