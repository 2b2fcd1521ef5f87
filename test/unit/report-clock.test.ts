import { describe, expect, test } from "bun:test";
import fc from "fast-check";
import { ntpFromUnixNs, unixNsFromNtp } from "../../src/rtp/ntp.ts";
import { ReportClock } from "../../src/rtp/report-clock.ts";

describe("ReportClock and NTP", () => {
  test("property: unixNsFromNtp inverts ntpFromUnixNs to within a nanosecond", () => {
    fc.assert(
      fc.property(fc.bigInt({ min: 0n, max: 4_000_000_000n * 1_000_000_000n }), (ns) => {
        const back = unixNsFromNtp(ntpFromUnixNs(ns));
        expect(ns - back >= 0n && ns - back <= 1n).toBe(true);
      }),
    );
  });

  test("extends the latest Sender Report at the clock rate, wrapping at 2^32", () => {
    const clock = new ReportClock(90_000);
    expect(clock.known).toBe(false);
    const t = 1_700_000_000_000_000_000n;
    clock.update(ntpFromUnixNs(t), 0xffff_ff00);
    expect(clock.at(t)).toBe(0xffff_ff00);
    expect(clock.at(t + 1_000_000_000n)).toBe((0xffff_ff00 + 90_000) >>> 0);
    expect(clock.at(t - 10_000_000n)).toBe(0xffff_ff00 - 900);
  });
});
