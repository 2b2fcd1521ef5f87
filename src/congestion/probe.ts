import type { PacketResult } from "./send-log.ts";

/**
 * Probing (libwebrtc's ProbeController and ProbeBitrateEstimator): AIMD alone climbs 8 % a
 * second, so after a bottleneck lifts it would take ten seconds or more to return to the
 * ceiling. A probe is a short cluster of padding sent at a higher rate; if the receiver got it
 * as fast as it was sent, the link carries that rate and the estimate jumps there.
 */
export interface ProbeCluster {
  id: number;
  targetBps: number;
  /** Packets to send, spaced for targetBps. */
  packets: number;
  /** Bytes each (RTX payload padding). */
  packetSize: number;
}

/**
 * How long a probe cluster lasts. Long enough that a token-bucket bottleneck's burst allowance
 * (tbf, policers: typically tens of kilobytes) cannot pass a probe at twice the link's rate
 * unqueued — a 40 ms cluster through a 64 kbit burst reads as a clean pass at any rate.
 */
const PROBE_MS = 150;
const PROBE_PACKET = 1_100;
const MIN_PACKETS = 5;
/**
 * When to probe. A failed probe (the link is slower than it) queues ~100 ms of extra delay at
 * the bottleneck, which a receiver can show as a freeze; so probing is rare where nothing
 * suggests more room: first after 10 s, doubling after each failure up to a minute. After a
 * large drop (the estimate fell under 60 % of its level in the last 5 s), the path may come back
 * as suddenly as it went, so for a minute it is probed every 3 s, until the estimate is back.
 */
const RECOVERY_INTERVAL_MS = 3_000;
const RECOVERY_WINDOW_MS = 60_000;
const FIRST_BACKOFF_MS = 10_000;
const MAX_BACKOFF_MS = 60_000;
const DROP_RATIO = 0.6;
const DROP_LOOKBACK_MS = 5_000;
const QUIET_AFTER_DECREASE_MS = 1_500;
/** A probe that came back at this fraction of its target earns an immediate further one. */
const FURTHER_PROBE_FRACTION = 0.7;

export class ProbeController {
  #nextId = 1;
  #lastProbeMs: number | undefined;
  #pendingFurther: number | undefined;
  /** The probe awaiting its result; `further`: the further step it is, if one (kept if it is cancelled). */
  #outstanding: { id: number; targetBps: number; sentMs: number; further: number | undefined } | undefined;
  #backoffMs = FIRST_BACKOFF_MS;
  /** The estimate's recent history (for drops) and the last drop: from what, when. */
  #history: { atMs: number; bps: number }[] = [];
  #drop: { fromBps: number; atMs: number } | undefined;

  constructor(readonly maxBps: number) {}

  /** Whether a large drop was recent and the estimate is not back yet. */
  #recovering(nowMs: number, estimateBps: number): boolean {
    return this.#drop !== undefined && nowMs - this.#drop.atMs < RECOVERY_WINDOW_MS && estimateBps < 0.9 * this.#drop.fromBps;
  }

  #noteEstimate(nowMs: number, bps: number): void {
    this.#history.push({ atMs: nowMs, bps });
    while (this.#history.length > 0 && this.#history[0]!.atMs < nowMs - DROP_LOOKBACK_MS) this.#history.shift();
    const peak = Math.max(...this.#history.map((h) => h.bps));
    if (bps < DROP_RATIO * peak && (this.#drop === undefined || nowMs - this.#drop.atMs > DROP_LOOKBACK_MS || peak > this.#drop.fromBps)) {
      this.#drop = { fromBps: peak, atMs: nowMs };
    }
  }

  /**
   * Whether to probe now: the estimate is below the ceiling, nothing has been cut recently, and
   * the last probe is long enough ago (or succeeded and asks for the next step).
   */
  poll(nowMs: number, estimateBps: number, lastDecreaseMs: number | undefined): ProbeCluster | undefined {
    this.#noteEstimate(nowMs, estimateBps);
    if (this.#outstanding && nowMs - this.#outstanding.sentMs < 1_000) return undefined;
    if (this.#outstanding) {
      // No result within a second: the probe failed (queued, or lost). Wait longer next time.
      this.#backoffMs = Math.min(MAX_BACKOFF_MS, this.#backoffMs * 2);
      this.#outstanding = undefined;
    }
    if (estimateBps >= this.maxBps * 0.95) {
      this.#pendingFurther = undefined;
      return undefined;
    }
    if (lastDecreaseMs !== undefined && nowMs - lastDecreaseMs < QUIET_AFTER_DECREASE_MS) return undefined;
    let target: number | undefined;
    const further = this.#pendingFurther;
    if (further !== undefined) target = further;
    else {
      const interval = this.#recovering(nowMs, estimateBps) ? RECOVERY_INTERVAL_MS : this.#backoffMs;
      if (this.#lastProbeMs === undefined || nowMs - this.#lastProbeMs >= interval) target = estimateBps * 2;
    }
    this.#pendingFurther = undefined;
    if (target === undefined) return undefined;
    target = Math.min(this.maxBps, Math.max(target, estimateBps * 1.25));
    const packets = Math.max(MIN_PACKETS, Math.ceil((target * PROBE_MS) / 1000 / 8 / PROBE_PACKET));
    const cluster = { id: this.#nextId++, targetBps: target, packets, packetSize: PROBE_PACKET };
    this.#outstanding = { id: cluster.id, targetBps: target, sentMs: nowMs, further };
    this.#lastProbeMs = nowMs;
    return cluster;
  }

  /**
   * The cluster could not be sent (nothing to pad with yet: at start-up the first feedback can
   * come before any video has gone out). That is no verdict on the link, so the back-off is not
   * doubled as for a failure, and a further step asked for is kept. The next probe still waits
   * the usual interval: probing a bottleneck the moment the stream starts queues audio behind it
   * (measured: 2–4 % of a 1.5 Mbit/s bottleneck run's audio concealed, against under 2 %).
   */
  cancel(clusterId: number): void {
    const o = this.#outstanding;
    if (!o || o.id !== clusterId) return;
    this.#outstanding = undefined;
    this.#pendingFurther = o.further;
  }

  /** A probe's measured rate is in: a good one asks for the next step up. */
  onResult(clusterId: number, measuredBps: number): void {
    if (!this.#outstanding || this.#outstanding.id !== clusterId) return;
    if (measuredBps >= FURTHER_PROBE_FRACTION * this.#outstanding.targetBps) {
      this.#pendingFurther = measuredBps * 2;
      this.#backoffMs = FIRST_BACKOFF_MS;
    } else this.#backoffMs = Math.min(MAX_BACKOFF_MS, this.#backoffMs * 2);
    this.#outstanding = undefined;
  }
}

/**
 * The rate a probe cluster demonstrated: the lower of its send and receive rates, each over the
 * cluster's span (the first packet's size is not part of the receive interval, nor the last's of
 * the send interval). A receive rate well under the send rate means the probe queued: no result.
 */
export class ProbeResults {
  readonly #clusters = new Map<number, { expected: number; results: PacketResult[]; startedMs: number }>();

  /** Say a cluster was sent, so its results can be judged complete. */
  sent(cluster: ProbeCluster, nowMs: number): void {
    this.#clusters.set(cluster.id, { expected: cluster.packets, results: [], startedMs: nowMs });
    for (const [id, c] of this.#clusters) if (nowMs - c.startedMs > 5_000) this.#clusters.delete(id);
  }

  /**
   * The cluster went out with `packets` packets, not the planned number. False when too few went
   * out to measure anything (the cluster is dropped).
   */
  resize(clusterId: number, packets: number): boolean {
    const c = this.#clusters.get(clusterId);
    if (!c) return false;
    if (packets < MIN_PACKETS) {
      this.#clusters.delete(clusterId);
      return false;
    }
    c.expected = packets;
    return true;
  }

  /** Feed feedback results; returns the clusters that could now be measured. */
  add(results: readonly PacketResult[]): { clusterId: number; bps: number }[] {
    const touched = new Set<number>();
    for (const r of results) {
      if (r.probeCluster === undefined) continue;
      const c = this.#clusters.get(r.probeCluster);
      if (!c) continue;
      c.results.push(r);
      touched.add(r.probeCluster);
    }
    const out: { clusterId: number; bps: number }[] = [];
    for (const id of touched) {
      const c = this.#clusters.get(id)!;
      if (c.results.length < c.expected) continue;
      this.#clusters.delete(id);
      const bps = measure(c.results);
      if (bps !== undefined) out.push({ clusterId: id, bps });
    }
    return out;
  }
}

export function measure(results: readonly PacketResult[]): number | undefined {
  const received = results.filter((r) => r.arrivalMs !== undefined).sort((a, b) => a.arrivalMs! - b.arrivalMs!);
  if (received.length < MIN_PACKETS || received.length < 0.8 * results.length) return undefined;
  const bySend = [...results].sort((a, b) => a.sendMs - b.sendMs);
  const sendSpan = bySend[bySend.length - 1]!.sendMs - bySend[0]!.sendMs;
  const receiveSpan = received[received.length - 1]!.arrivalMs! - received[0]!.arrivalMs!;
  if (sendSpan < 1 || receiveSpan < 1) return undefined;
  const sendBytes = bySend.reduce((n, r) => n + r.size, 0) - bySend[bySend.length - 1]!.size;
  const receiveBytes = received.reduce((n, r) => n + r.size, 0) - received[0]!.size;
  const sendBps = (sendBytes * 8 * 1000) / sendSpan;
  const receiveBps = (receiveBytes * 8 * 1000) / receiveSpan;
  // A probe that queued says the link is below its rate, and little more: its receive rate is
  // inflated by whatever burst the bottleneck allowed. Only a clean pass is a measurement.
  if (receiveBps < 0.9 * sendBps) return undefined;
  return Math.min(sendBps, receiveBps);
}
