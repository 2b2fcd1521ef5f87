import { describe, expect, test } from "bun:test";
import { AimdRateControl } from "../../src/congestion/aimd.ts";
import { BandwidthEstimator } from "../../src/congestion/bandwidth-estimator.ts";
import { DelayBasedDetector, slope } from "../../src/congestion/delay-based.ts";
import { LossBasedControl } from "../../src/congestion/loss-based.ts";
import { measure, ProbeController } from "../../src/congestion/probe.ts";
import type { PacketResult } from "../../src/congestion/send-log.ts";
import { between, simulate } from "../helpers/link-sim.ts";

const CEILING = 2_500_000;
const FLOOR = 150_000;
const base = { minBps: FLOOR, maxBps: CEILING, startBps: CEILING };
const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;

describe("BandwidthEstimator over a simulated bottleneck (TWCC feedback every 100 ms)", () => {
  test("steady state: a link above the ceiling keeps the target at the ceiling", () => {
    const s = simulate({ ...base, phases: [{ untilMs: 20_000, capacityBps: 6_000_000 }] });
    for (const x of between(s, 2_000, 20_000)) expect(x.targetBps).toBeGreaterThanOrEqual(0.95 * CEILING);
  });

  test("a step down to 1 Mbit/s: the target falls under the link within 2 s and stays near it", () => {
    const s = simulate({ ...base, phases: [{ untilMs: 5_000, capacityBps: 4_000_000 }, { untilMs: 25_000, capacityBps: 1_000_000 }] });
    const after = between(s, 7_000, 25_000);
    expect(Math.max(...after.map((x) => x.targetBps))).toBeLessThan(1_150_000);
    expect(mean(after.map((x) => x.targetBps))).toBeGreaterThan(550_000);
    expect(between(s, 7_000, 7_250)[0]!.targetBps).toBeLessThan(1_050_000);
  });

  test("a start above the link: the target comes down to it", () => {
    const s = simulate({ ...base, phases: [{ untilMs: 15_000, capacityBps: 1_500_000 }] });
    const late = between(s, 5_000, 15_000);
    expect(Math.max(...late.map((x) => x.targetBps))).toBeLessThan(1_650_000);
    expect(mean(late.map((x) => x.targetBps))).toBeGreaterThan(800_000);
  });

  test("a step up: back to 90 % of the ceiling within 10 s of the cap lifting (probing)", () => {
    const s = simulate({ ...base, phases: [{ untilMs: 10_000, capacityBps: 1_000_000 }, { untilMs: 30_000, capacityBps: 4_000_000 }] });
    expect(between(s, 9_000, 10_000).every((x) => x.targetBps < 1_100_000)).toBe(true);
    const recovered = s.find((x) => x.atMs >= 10_000 && x.targetBps >= 0.9 * CEILING);
    expect(recovered).toBeDefined();
    expect(recovered!.atMs - 10_000).toBeLessThan(10_000);
  });

  test("5 % random loss with no cap: the estimate holds above half the ceiling", () => {
    const s = simulate({ ...base, phases: [{ untilMs: 20_000, capacityBps: 10_000_000, lossRate: 0.05 }] });
    for (const x of between(s, 1_000, 20_000)) expect(x.targetBps).toBeGreaterThan(CEILING / 2);
  });

  test("a loss burst (30 % for 2 s) cuts the rate; it recovers once the loss stops", () => {
    const s = simulate({
      ...base,
      phases: [
        { untilMs: 5_000, capacityBps: 10_000_000 },
        { untilMs: 7_000, capacityBps: 10_000_000, lossRate: 0.3 },
        { untilMs: 25_000, capacityBps: 10_000_000 },
      ],
    });
    expect(Math.min(...between(s, 5_000, 8_000).map((x) => x.targetBps))).toBeLessThan(0.8 * CEILING);
    expect(between(s, 20_000, 25_000).every((x) => x.targetBps >= 0.9 * CEILING)).toBe(true);
  });

  test("a single delay spike (200 ms for 300 ms) does not collapse the estimate", () => {
    const s = simulate({ ...base, phases: [{ untilMs: 20_000, capacityBps: 8_000_000, spike: { fromMs: 8_000, toMs: 8_300, extraMs: 200 } }] });
    expect(between(s, 12_000, 20_000).every((x) => x.targetBps >= 0.9 * CEILING)).toBe(true);
    expect(Math.min(...s.filter((x) => x.atMs > 2_000).map((x) => x.targetBps))).toBeGreaterThan(0.4 * CEILING);
  });

  test("reordering (10 % of arrivals swapped) is not read as congestion", () => {
    const s = simulate({ ...base, phases: [{ untilMs: 20_000, capacityBps: 8_000_000, reorderRate: 0.1 }] });
    expect(mean(between(s, 2_000, 20_000).map((x) => x.targetBps))).toBeGreaterThan(0.9 * CEILING);
  });

  test("the u16 transport sequence wraps mid-run without a hiccup", () => {
    const s = simulate({ ...base, firstSequence: 65_000, phases: [{ untilMs: 5_000, capacityBps: 8_000_000 }, { untilMs: 15_000, capacityBps: 1_000_000 }] });
    expect(between(s, 1_000, 5_000).every((x) => x.targetBps >= 0.95 * CEILING)).toBe(true);
    expect(Math.max(...between(s, 8_000, 15_000).map((x) => x.targetBps))).toBeLessThan(1_150_000);
  });

  test("REMB caps the target; receiver reports drive it without TWCC", () => {
    const e = new BandwidthEstimator(base);
    e.onRemb(800_000, 0);
    expect(e.targetBps).toBe(800_000);
    expect(e.reason).toBe("receiver limit");
    const rr = new BandwidthEstimator(base);
    for (let t = 0; t < 8_000; t += 1_000) rr.onReceiverReport(0.25, 80, t);
    expect(rr.targetBps).toBeLessThan(0.5 * CEILING);
    expect(rr.reason).toBe("loss");
    const clean = rr.targetBps;
    for (let t = 8_000; t < 18_000; t += 1_000) rr.onReceiverReport(0, 80, t);
    expect(rr.targetBps).toBeGreaterThan(clean);
    expect(rr.probe(20_000)).toBeUndefined(); // no probing without TWCC to judge it
  });
});

describe("delay-based detector", () => {
  const results = (pairs: [number, number][]): PacketResult[] => pairs.map(([sendMs, arrivalMs], i) => ({ sequence: i, sendMs, size: 1200, arrivalMs }));

  test("a growing queue (arrivals spread 20 % wider than sends) is overuse", () => {
    const d = new DelayBasedDetector();
    const p: [number, number][] = [];
    for (let i = 0; i < 200; i++) p.push([i * 10, 50 + i * 12]);
    expect(d.update(results(p))).toBe("overusing");
  });

  test("a steady path is normal; a draining queue is underuse", () => {
    const steady = new DelayBasedDetector();
    const p: [number, number][] = [];
    for (let i = 0; i < 200; i++) p.push([i * 10, 50 + i * 10]);
    expect(steady.update(results(p))).toBe("normal");
    const draining = new DelayBasedDetector();
    const q: [number, number][] = [];
    for (let i = 0; i < 200; i++) q.push([i * 10, 2_500 + i * 10 - Math.min(i, 150) * 9]);
    expect(draining.update(results(q.slice(0, 150)))).toBe("underusing");
  });

  test("lost packets and packets within one 5 ms burst are handled", () => {
    const d = new DelayBasedDetector();
    const r: PacketResult[] = [];
    for (let i = 0; i < 300; i++) r.push({ sequence: i, sendMs: Math.floor(i / 3) * 10 + (i % 3), size: 1200, arrivalMs: i % 7 === 0 ? undefined : 50 + Math.floor(i / 3) * 10 + (i % 3) });
    expect(d.update(r)).toBe("normal");
  });

  test("slope is least squares", () => {
    expect(slope([{ x: 0, y: 1 }, { x: 1, y: 3 }, { x: 2, y: 5 }])).toBeCloseTo(2);
    expect(slope([{ x: 1, y: 1 }, { x: 1, y: 2 }])).toBeUndefined();
  });
});

describe("AIMD and loss-based parts", () => {
  test("overuse cuts to 0.85 × the acknowledged rate, once per round trip", () => {
    const a = new AimdRateControl({ minBps: 100_000, maxBps: 5_000_000, startBps: 2_000_000 });
    expect(a.update("overusing", 1_000_000, 100, 1_000)).toBe(850_000);
    expect(a.update("overusing", 800_000, 100, 1_050)).toBe(850_000);
    expect(a.update("overusing", 800_000, 100, 1_200)).toBe(680_000);
  });

  test("normal use grows about 8 % a second, never past 1.5 × acknowledged + 10 kbit/s", () => {
    const a = new AimdRateControl({ minBps: 100_000, maxBps: 5_000_000, startBps: 1_000_000 });
    a.update("normal", undefined, 100, 0);
    for (let t = 100; t <= 1_000; t += 100) a.update("normal", undefined, 100, t);
    expect(a.rate).toBeGreaterThan(1_070_000);
    expect(a.rate).toBeLessThan(1_090_000);
    const capped = new AimdRateControl({ minBps: 100_000, maxBps: 5_000_000, startBps: 1_000_000 });
    for (let t = 0; t <= 20_000; t += 100) capped.update("normal", 300_000, 100, t);
    expect(capped.rate).toBe(1_000_000); // app-limited: it may not climb on what it never sent
  });

  test("loss: hold between 2 and 10 %, cut above, grow below", () => {
    const l = new LossBasedControl(100_000, 2_000_000, 1_000_000);
    l.update(0.05, 100, 0, 1_000_000);
    l.update(0.05, 100, 1_000, 1_000_000);
    expect(l.rate).toBe(1_000_000);
    l.update(0.3, 100, 2_000, 1_000_000);
    expect(l.rate).toBe(850_000);
    l.update(0.3, 100, 2_100, 850_000); // within 300 ms + RTT of the last cut
    expect(l.rate).toBe(850_000);
    l.update(0, 100, 3_000, 850_000);
    l.update(0, 100, 4_000, 850_000);
    expect(l.rate).toBeGreaterThan(900_000);
  });
});

describe("probe measurement", () => {
  const cluster = (sendGapMs: number, arrivalGapMs: number, n = 10, lost = 0): PacketResult[] =>
    Array.from({ length: n }, (_, i) => ({ sequence: i, sendMs: i * sendGapMs, size: 1000, arrivalMs: i < lost ? undefined : 100 + i * arrivalGapMs, probeCluster: 1 }));

  test("a probe that arrived as sent measures its send rate", () => {
    expect(measure(cluster(4, 4))).toBeCloseTo(2_000_000, -3);
  });
  test("a probe that queued is no measurement (a bottleneck's burst inflates its receive rate)", () => {
    expect(measure(cluster(4, 8))).toBeUndefined();
  });
  test("a probe that mostly got lost measures nothing", () => {
    expect(measure(cluster(4, 4, 10, 5))).toBeUndefined();
  });
});

describe("probe controller", () => {
  test("a cluster that could not be sent (no video to pad with yet) is no failure: the next comes after the usual 10 s, not a doubled back-off", () => {
    const c = new ProbeController(CEILING);
    const first = c.poll(1_000, 1_000_000, undefined)!;
    expect(first.targetBps).toBe(2_000_000);
    c.cancel(first.id);
    expect(c.poll(2_100, 1_000_000, undefined)).toBeUndefined();
    expect(c.poll(11_000, 1_000_000, undefined)?.targetBps).toBe(2_000_000);
  });
  test("a cluster that went out and got no result is a failure: the next one waits out a doubled back-off", () => {
    const c = new ProbeController(CEILING);
    c.poll(1_000, 1_000_000, undefined);
    expect(c.poll(2_100, 1_000_000, undefined)).toBeUndefined(); // timed out: failure
    expect(c.poll(15_000, 1_000_000, undefined)).toBeUndefined(); // 10 s after the first is not enough now
    expect(c.poll(21_100, 1_000_000, undefined)).toBeDefined(); // 20 s is
  });
  test("a cancelled further step is kept: a good probe's next step survives a cluster that could not be sent", () => {
    const c = new ProbeController(CEILING);
    const first = c.poll(1_000, 600_000, undefined)!;
    c.onResult(first.id, 1_200_000);
    const further = c.poll(1_200, 1_200_000, undefined)!;
    expect(further.targetBps).toBe(2_400_000);
    c.cancel(further.id);
    expect(c.poll(1_300, 1_200_000, undefined)?.targetBps).toBe(2_400_000);
  });
  test("the estimator cancels a cluster it was told went out too short to measure", () => {
    const e = new BandwidthEstimator({ minBps: FLOOR, maxBps: CEILING, startBps: 1_000_000 });
    e.onTransportFeedback([{ sequence: 0, sendMs: 0, size: 1000, arrivalMs: 10 }], 100);
    const cluster = e.probe(100)!;
    expect(cluster).toBeDefined();
    e.probeSent(cluster.id, 0);
    expect(e.probe(1_300)).toBeUndefined(); // not waited out as a failure: no verdict at 1 s
    expect(e.probe(10_200)?.targetBps).toBeDefined();
  });
});
