/**
 * A synthetic bottleneck for estimator tests: a FIFO of fixed capacity and depth, a one-way
 * propagation delay, random loss, optional extra delay spikes and reordering, and a receiver that
 * reports every packet in TWCC feedback every 100 ms. The sender sends what the estimator's
 * target allows (as the encoder would), in 30 fps frames paced like whipcast's, plus the
 * estimator's probe clusters.
 * Deterministic for a given seed.
 */
import { BandwidthEstimator, type EstimatorOptions } from "../../src/congestion/bandwidth-estimator.ts";
import { PACING_FACTOR } from "../../src/congestion/pacer.ts";
import { SendLog } from "../../src/congestion/send-log.ts";
import { buildTwcc, parseTwcc } from "../../src/rtp/twcc.ts";

export interface LinkPhase {
  untilMs: number;
  capacityBps: number;
  lossRate?: number;
  /** Extra delay added to packets sent in [from, to). */
  spike?: { fromMs: number; toMs: number; extraMs: number };
  /** Swap adjacent arrivals with this probability. */
  reorderRate?: number;
}

export interface SimSample {
  atMs: number;
  targetBps: number;
  sentBps: number;
}

function rng(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s * 1664525 + 1013904223) >>> 0;
    return s / 2 ** 32;
  };
}

export function simulate(options: EstimatorOptions & { phases: LinkPhase[]; seed?: number; firstSequence?: number; queueMs?: number }): SimSample[] {
  const random = rng(options.seed ?? 1);
  const estimator = new BandwidthEstimator(options);
  const log = new SendLog();
  let sequence = options.firstSequence ?? 0;
  const propagationMs = 20;
  const queueMs = options.queueMs ?? 300;
  let linkFreeAtMs = 0;
  const pending: { sequence: number; arrivalMs: number | undefined; sentMs: number }[] = [];
  let fbCount = 0;
  const samples: SimSample[] = [];
  const sentWindow: { atMs: number; bytes: number }[] = [];
  const end = options.phases[options.phases.length - 1]!.untilMs;

  /** Packets waiting for their send time (the pacer's schedule); sequence numbers are stamped on sending. */
  let scheduled: { atMs: number; size: number; probeCluster?: number }[] = [];
  const schedule = (atMs: number, size: number, probeCluster?: number) => scheduled.push({ atMs, size, ...(probeCluster !== undefined ? { probeCluster } : {}) });
  const send = (nowMs: number, size: number, probeCluster?: number) => {
    const phase = options.phases.find((p) => nowMs < p.untilMs) ?? options.phases[options.phases.length - 1]!;
    const seq16 = sequence & 0xffff;
    sequence++;
    log.record(seq16, nowMs, size, probeCluster);
    sentWindow.push({ atMs: nowMs, bytes: size });
    const serviceMs = (size * 8 * 1000) / phase.capacityBps;
    const startMs = Math.max(nowMs, linkFreeAtMs);
    let arrivalMs: number | undefined;
    if (startMs - nowMs > queueMs || random() < (phase.lossRate ?? 0)) arrivalMs = undefined; // tail drop or random loss
    else {
      linkFreeAtMs = startMs + serviceMs;
      arrivalMs = linkFreeAtMs + propagationMs;
      if (phase.spike && nowMs >= phase.spike.fromMs && nowMs < phase.spike.toMs) arrivalMs += phase.spike.extraMs;
    }
    pending.push({ sequence: seq16, arrivalMs, sentMs: nowMs });
  };

  for (let now = 0; now < end; now++) {
    // One frame every 33 ms at the target, cut into ≤ 1200-byte packets, paced as whipcast's
    // pacer does (at PACING_FACTOR × the target).
    if (now % 33 === 0) {
      let bytes = Math.round(estimator.targetBps / 30 / 8);
      let at = now;
      while (bytes > 0) {
        const size = Math.min(1200, bytes);
        schedule(at, size);
        at += (size * 8 * 1000) / (estimator.targetBps * PACING_FACTOR);
        bytes -= size;
      }
    }
    const cluster = estimator.probe(now);
    if (cluster) for (let i = 0; i < cluster.packets; i++) schedule(now + (i * cluster.packetSize * 8 * 1000) / cluster.targetBps, cluster.packetSize, cluster.id);
    // Everything due by the end of this millisecond leaves, in time order.
    const due = scheduled.filter((p) => p.atMs < now + 1).sort((a, b) => a.atMs - b.atMs);
    scheduled = scheduled.filter((p) => p.atMs >= now + 1);
    for (const p of due) send(p.atMs, p.size, p.probeCluster);
    // Feedback every 100 ms, for the packets that have arrived (or are known lost) by now.
    if (now % 100 === 99) {
      const ready = pending.filter((p) => (p.arrivalMs ?? p.sentMs + propagationMs) <= now);
      if (ready.length > 0) {
        const phase = options.phases.find((p) => now < p.untilMs)!;
        for (let i = 0; i + 1 < ready.length; i++) {
          if (random() < (phase.reorderRate ?? 0) && ready[i]!.arrivalMs !== undefined && ready[i + 1]!.arrivalMs !== undefined) {
            const a = ready[i]!.arrivalMs!;
            ready[i]!.arrivalMs = ready[i + 1]!.arrivalMs;
            ready[i + 1]!.arrivalMs = a;
          }
        }
        const base = ready[0]!.sequence;
        const count = ((ready[ready.length - 1]!.sequence - base) & 0xffff) + 1;
        const arrivals: (number | undefined)[] = new Array(count).fill(undefined);
        for (const p of ready) arrivals[(p.sequence - base) & 0xffff] = p.arrivalMs === undefined ? undefined : (p.arrivalMs + 10_000) * 1000;
        const bytes = buildTwcc({ senderSsrc: 1, mediaSsrc: 2, baseSequence: base, feedbackCount: fbCount++, arrivalsUs: arrivals });
        estimator.onTransportFeedback(log.onFeedback(parseTwcc(bytes)), now);
        pending.splice(0, pending.length, ...pending.filter((p) => !ready.includes(p)));
      }
    }
    if (now % 250 === 0) {
      while (sentWindow.length > 0 && sentWindow[0]!.atMs < now - 1000) sentWindow.shift();
      samples.push({ atMs: now, targetBps: estimator.targetBps, sentBps: sentWindow.reduce((n, s) => n + s.bytes, 0) * 8 });
    }
  }
  return samples;
}

export function between(samples: SimSample[], fromMs: number, toMs: number): SimSample[] {
  return samples.filter((s) => s.atMs >= fromMs && s.atMs < toMs);
}
