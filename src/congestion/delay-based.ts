import type { PacketResult } from "./send-log.ts";

/**
 * The delay-based half of Google Congestion Control (draft-ietf-rmcat-gcc-02 §5; libwebrtc's
 * goog_cc TrendlineEstimator): packets are grouped into bursts by send time, the change in
 * one-way delay between groups is accumulated and smoothed, and the slope of a line fitted to
 * the last 20 points says whether the bottleneck queue is growing (overuse), draining
 * (underuse) or steady. The threshold adapts (§5.4) so that a competing TCP flow does not starve
 * us and noise does not trigger false overuse.
 */
export type BandwidthUsage = "normal" | "overusing" | "underusing";

/** Packets sent within this many ms of a group's first one belong to that group (§5.2). */
const BURST_MS = 5;
const WINDOW = 20;
const SMOOTHING = 0.9;
const THRESHOLD_GAIN = 4;
const K_UP = 0.0087;
const K_DOWN = 0.039;
const OVERUSE_TIME_MS = 10;
/** Arrival jumps larger than this are a reset of the receiver's clock, not queueing. */
const ARRIVAL_JUMP_MS = 3_000;

interface Group {
  firstSendMs: number;
  lastSendMs: number;
  lastArrivalMs: number;
  size: number;
}

export class DelayBasedDetector {
  #current: Group | undefined;
  #previous: Group | undefined;
  #firstArrivalMs: number | undefined;
  #accumulated = 0;
  #smoothed = 0;
  #deltas = 0;
  #points: { x: number; y: number }[] = [];
  #trend = 0;
  #previousTrend = 0;
  #threshold = 12.5;
  #thresholdUpdatedMs: number | undefined;
  #overuseMs = -1;
  #overuseCount = 0;
  #state: BandwidthUsage = "normal";

  get state(): BandwidthUsage {
    return this.#state;
  }

  /** The current slope times gain, as compared against the threshold (for logs and tests). */
  get modifiedTrend(): number {
    return Math.min(this.#deltas, 60) * this.#trend * THRESHOLD_GAIN;
  }

  /** Feed the received packets of one feedback, in send order. Returns the state after them. */
  update(results: readonly PacketResult[]): BandwidthUsage {
    for (const r of results) {
      if (r.arrivalMs === undefined) continue;
      this.#packet(r.sendMs, r.arrivalMs, r.size);
    }
    return this.#state;
  }

  #packet(sendMs: number, arrivalMs: number, size: number): void {
    const g = this.#current;
    if (!g) {
      this.#current = { firstSendMs: sendMs, lastSendMs: sendMs, lastArrivalMs: arrivalMs, size };
      return;
    }
    // A packet sent before the current group started is reordered: it says nothing new.
    if (sendMs < g.firstSendMs) return;
    if (sendMs - g.firstSendMs <= BURST_MS) {
      g.lastSendMs = Math.max(g.lastSendMs, sendMs);
      g.lastArrivalMs = Math.max(g.lastArrivalMs, arrivalMs);
      g.size += size;
      return;
    }
    // The current group is complete: compare it with the one before.
    if (this.#previous) {
      const sendDelta = g.lastSendMs - this.#previous.lastSendMs;
      const arrivalDelta = g.lastArrivalMs - this.#previous.lastArrivalMs;
      if (Math.abs(arrivalDelta - sendDelta) > ARRIVAL_JUMP_MS || arrivalDelta < -ARRIVAL_JUMP_MS) this.#reset();
      else this.#delta(arrivalDelta, sendDelta, g.lastArrivalMs);
    }
    this.#previous = g;
    this.#current = { firstSendMs: sendMs, lastSendMs: sendMs, lastArrivalMs: arrivalMs, size };
  }

  #reset(): void {
    this.#firstArrivalMs = undefined;
    this.#accumulated = 0;
    this.#smoothed = 0;
    this.#deltas = 0;
    this.#points = [];
    this.#trend = 0;
  }

  #delta(arrivalDelta: number, sendDelta: number, arrivalMs: number): void {
    const delta = arrivalDelta - sendDelta;
    this.#deltas = Math.min(this.#deltas + 1, 1000);
    this.#firstArrivalMs ??= arrivalMs;
    this.#accumulated += delta;
    this.#smoothed = SMOOTHING * this.#smoothed + (1 - SMOOTHING) * this.#accumulated;
    this.#points.push({ x: arrivalMs - this.#firstArrivalMs, y: this.#smoothed });
    if (this.#points.length > WINDOW) this.#points.shift();
    if (this.#points.length === WINDOW) this.#trend = slope(this.#points) ?? this.#trend;
    this.#detect(sendDelta, arrivalMs);
  }

  /** §5.4 overuse detector, with libwebrtc's 10 ms / two-sample confirmation. */
  #detect(sendDelta: number, nowMs: number): void {
    if (this.#deltas < 2) {
      this.#state = "normal";
      return;
    }
    const modified = this.modifiedTrend;
    if (modified > this.#threshold) {
      this.#overuseMs = this.#overuseMs === -1 ? sendDelta / 2 : this.#overuseMs + sendDelta;
      this.#overuseCount++;
      if (this.#overuseMs > OVERUSE_TIME_MS && this.#overuseCount > 1 && this.#trend >= this.#previousTrend) {
        this.#overuseMs = 0;
        this.#overuseCount = 0;
        this.#state = "overusing";
      }
    } else if (modified < -this.#threshold) {
      this.#overuseMs = -1;
      this.#overuseCount = 0;
      this.#state = "underusing";
    } else {
      this.#overuseMs = -1;
      this.#overuseCount = 0;
      this.#state = "normal";
    }
    this.#previousTrend = this.#trend;
    this.#adaptThreshold(modified, nowMs);
  }

  #adaptThreshold(modified: number, nowMs: number): void {
    this.#thresholdUpdatedMs ??= nowMs;
    const magnitude = Math.abs(modified);
    // A spike far outside the threshold (a route change, a burst) must not drag it along.
    if (magnitude > this.#threshold + 15) {
      this.#thresholdUpdatedMs = nowMs;
      return;
    }
    const k = magnitude < this.#threshold ? K_DOWN : K_UP;
    const dt = Math.min(nowMs - this.#thresholdUpdatedMs, 100);
    this.#threshold = Math.min(600, Math.max(6, this.#threshold + k * (magnitude - this.#threshold) * dt));
    this.#thresholdUpdatedMs = nowMs;
  }
}

/** Least-squares slope of y over x; undefined when all x are equal. */
export function slope(points: readonly { x: number; y: number }[]): number | undefined {
  const n = points.length;
  let sx = 0;
  let sy = 0;
  for (const p of points) {
    sx += p.x;
    sy += p.y;
  }
  const mx = sx / n;
  const my = sy / n;
  let num = 0;
  let den = 0;
  for (const p of points) {
    num += (p.x - mx) * (p.y - my);
    den += (p.x - mx) ** 2;
  }
  return den === 0 ? undefined : num / den;
}
