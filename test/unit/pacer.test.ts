import { describe, expect, test } from "bun:test";
import fc from "fast-check";
import { PACING_FACTOR, Pacer } from "../../src/congestion/pacer.ts";

/** Run the pacer as its driver does: poll when it asks, record when each item left. */
function drive(pacer: Pacer<string>, untilMs: number, startMs = 0): Map<string, number> {
  const sent = new Map<string, number>();
  let now = startMs;
  while (now <= untilMs) {
    const { send, nextMs } = pacer.poll(now);
    for (const s of send) sent.set(s, now);
    if (nextMs === undefined) break;
    now = Math.max(now + 0.1, nextMs);
  }
  return sent;
}

describe("Pacer", () => {
  test("a 40-packet keyframe at a 1.2 Mbit/s target leaves spread at PACING_FACTOR × the target, not in one burst", () => {
    const pacer = new Pacer<string>(1_200_000);
    for (let i = 0; i < 40; i++) pacer.push(`v${i}`, 1200, "video", 0);
    const sent = drive(pacer, 1_000);
    expect(sent.size).toBe(40);
    const last = sent.get("v39")!;
    const expectedMs = (40 * 1200 * 8 * 1000) / (1_200_000 * PACING_FACTOR);
    expect(last).toBeGreaterThan(expectedMs * 0.8);
    expect(last).toBeLessThan(expectedMs * 1.2);
    // No more than the 5 ms allowance leaves in the first instant.
    expect([...sent.values()].filter((t) => t === 0).length).toBeLessThanOrEqual(Math.ceil((1_200_000 * PACING_FACTOR * 0.005) / 8 / 1200) + 1);
  });

  test("audio is never queued behind video", () => {
    const pacer = new Pacer<string>(500_000);
    for (let i = 0; i < 50; i++) pacer.push(`v${i}`, 1200, "video", 0);
    expect(pacer.push("a0", 160, "audio", 1)).toBe("a0");
  });

  test("retransmissions go before queued video", () => {
    const pacer = new Pacer<string>(300_000);
    for (let i = 0; i < 10; i++) pacer.push(`v${i}`, 1200, "video", 0);
    pacer.push("rtx", 1200, "retransmission", 0);
    const order = [...drive(pacer, 5_000).entries()].sort((a, b) => a[1] - b[1]).map(([k]) => k);
    expect(order[0]).toBe("rtx");
  });

  test("probe padding keeps its own schedule, above the pacing rate, and does not hold media back", () => {
    // A 2.4 Mbit/s probe while pacing for 400 kbit/s: 10 × 1100 B, 3.7 ms apart.
    const pacer = new Pacer<string>(400_000);
    for (let i = 0; i < 10; i++) pacer.push(`p${i}`, 1100, "padding", 0, (i * 1100 * 8) / 2_400);
    for (let i = 0; i < 5; i++) pacer.push(`v${i}`, 1200, "video", 0);
    const sent = drive(pacer, 1_000);
    for (let i = 0; i < 10; i++) {
      expect(sent.get(`p${i}`)!).toBeGreaterThanOrEqual((i * 1100 * 8) / 2_400);
      expect(sent.get(`p${i}`)!).toBeLessThan((i * 1100 * 8) / 2_400 + 1.5);
    }
    // Five 1200-byte packets at 600 kbit/s pacing (1.5 × 400k) take ~80 ms, probe or not.
    expect(sent.get("v4")!).toBeLessThan(100);
  });

  test("a backlog leaves no faster than the pacing rate (a burst would be lost at the bottleneck)", () => {
    const pacer = new Pacer<string>(100_000); // 150 kbit/s pacing: 300 kB takes 16 s
    for (let i = 0; i < 250; i++) pacer.push(`v${i}`, 1200, "video", 0);
    const sent = drive(pacer, 2_000);
    expect(sent.size).toBeLessThan(40);
    expect(pacer.dropStale(2_000, 400).length).toBe(250 - sent.size);
  });

  test("stale video is dropped, audio and padding are not", () => {
    const pacer = new Pacer<string>(100_000);
    for (let i = 0; i < 5; i++) pacer.push(`v${i}`, 1200, "video", 0);
    pacer.push("pad", 1100, "padding", 0, 10_000);
    expect(pacer.dropStale(100, 400)).toEqual([]);
    expect(pacer.dropStale(500, 400)).toEqual(["v0", "v1", "v2", "v3", "v4"]);
    expect(pacer.queuedPackets).toBe(1);
    expect(pacer.queueDelayMs(500)).toBe(0);
  });

  test("over any arrival pattern: priority-then-FIFO order, everything leaves, and never ahead of the pacing rate", () => {
    fc.assert(
      fc.property(fc.array(fc.tuple(fc.integer({ min: 0, max: 2_000 }), fc.integer({ min: 100, max: 1200 })), { minLength: 1, maxLength: 40 }), (arrivals) => {
        const target = 2_000_000;
        const pacer = new Pacer<number>(target);
        const sorted = [...arrivals].sort((a, b) => a[0] - b[0]);
        const sentAt: number[] = [];
        const sends: { at: number; size: number }[] = [];
        let now = 0;
        let i = 0;
        while (i < sorted.length || pacer.queuedPackets > 0) {
          while (i < sorted.length && sorted[i]![0] <= now) {
            pacer.push(i, sorted[i]![1], "video", now);
            i++;
          }
          const { send } = pacer.poll(now);
          for (const id of send) {
            sentAt[id] = now;
            sends.push({ at: now, size: sorted[id]![1] });
          }
          now += 0.5;
        }
        expect(sentAt.filter((t) => t !== undefined).length).toBe(sorted.length);
        for (let k = 1; k < sorted.length; k++) expect(sentAt[k]!).toBeGreaterThanOrEqual(sentAt[k - 1]!);
        // Over any window, at most the pacing rate's bytes plus the 5 ms allowance and one packet.
        const rate = (target * PACING_FACTOR) / 8 / 1000; // bytes per ms
        for (let a = 0; a < sends.length; a++) {
          let bytes = 0;
          for (let b = a; b < sends.length; b++) {
            bytes += sends[b]!.size;
            expect(bytes).toBeLessThanOrEqual(rate * (sends[b]!.at - sends[a]!.at) + rate * 5 + 1200 * 2);
          }
        }
      }),
      { numRuns: 100 },
    );
  });
});
