import { describe, expect, test } from "bun:test";
import fc from "fast-check";
import { decodeAbsCaptureTime, decodePlayoutDelay, encodeAbsCaptureTime, encodePlayoutDelay } from "../../src/rtp/header-extensions.ts";

const hex = (b: Uint8Array) => Buffer.from(b).toString("hex");

describe("abs-capture-time (webrtc.org experimental): UQ32.32 NTP capture time, Q32.32 clock offset", () => {
  test.each([
    // The Unix epoch is NTP second 2208988800 (0x83aa7e80); offset 0 is the capturer's own clock.
    ["the Unix epoch", 0n, 0n, "83aa7e8000000000" + "0000000000000000"],
    // Half a second is 0x80000000 of the fraction.
    ["half a second past", 500_000_000n, 0n, "83aa7e8080000000" + "0000000000000000"],
    // 2026-12-02T00:00:00Z, 1 ns past: the fraction rounds up so the nanosecond survives.
    ["1 ns past a second", 1_796_169_600_000_000_001n, 0n, "eeb9de0000000005" + "0000000000000000"],
    // A capture clock 1.5 s behind the sender's: −1.5 in Q32.32, two's complement.
    ["a negative clock offset", 0n, -1_500_000_000n, "83aa7e8000000000" + "fffffffe80000000"],
  ])("%s", (_, captureNs, offsetNs, wire) => {
    const bytes = encodeAbsCaptureTime(captureNs, offsetNs);
    expect(hex(bytes)).toBe(wire);
    expect(decodeAbsCaptureTime(bytes)).toEqual({ captureNs, clockOffsetNs: offsetNs });
  });

  test("the 8-byte form (no offset) decodes without one; other lengths are not the element", () => {
    expect(decodeAbsCaptureTime(encodeAbsCaptureTime(1_000_000_000n).subarray(0, 8))).toEqual({ captureNs: 1_000_000_000n });
    expect(decodeAbsCaptureTime(new Uint8Array(12))).toBeUndefined();
  });

  test("property: any capture time from 1970 to 2100 round-trips to the nanosecond (NTP era 1 after 2036 included)", () => {
    fc.assert(
      fc.property(fc.bigInt({ min: 0n, max: 4_102_444_800_000_000_000n }), fc.bigInt({ min: -(10n ** 12n), max: 10n ** 12n }), (captureNs, offsetMs) => {
        const offsetNs = offsetMs * 1_000n; // whole microseconds: Q32.32 carries them exactly enough to round-trip within 1 ns
        const d = decodeAbsCaptureTime(encodeAbsCaptureTime(captureNs, offsetNs))!;
        expect(d.captureNs).toBe(captureNs);
        expect(d.clockOffsetNs! - offsetNs).toBeLessThanOrEqual(0n);
        expect(offsetNs - d.clockOffsetNs!).toBeLessThanOrEqual(1n);
      }),
    );
  });
});

describe("playout-delay (webrtc.org experimental): 12-bit minimum and maximum in 10 ms units", () => {
  test.each([
    [{ minMs: 0, maxMs: 0 }, "000000", { minMs: 0, maxMs: 0 }],
    [{ minMs: 0, maxMs: 100 }, "00000a", { minMs: 0, maxMs: 100 }],
    [{ minMs: 100, maxMs: 2000 }, "00a0c8", { minMs: 100, maxMs: 2000 }],
    // Rounded up to the unit: never less delay than was asked for.
    [{ minMs: 5, maxMs: 40_950 }, "001fff", { minMs: 10, maxMs: 40_950 }],
  ])("%o", (delay, wire, back) => {
    const bytes = encodePlayoutDelay(delay);
    expect(hex(bytes)).toBe(wire);
    expect(decodePlayoutDelay(bytes)).toEqual(back);
  });
  test.each([
    [{ minMs: -1, maxMs: 0 }],
    [{ minMs: 100, maxMs: 50 }],
    [{ minMs: 0, maxMs: 40_960 }],
  ])("%o is refused, naming the values", (delay) => {
    expect(() => encodePlayoutDelay(delay)).toThrow(`(got ${delay.minMs}–${delay.maxMs})`);
  });
});
