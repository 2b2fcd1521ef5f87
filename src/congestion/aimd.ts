import type { BandwidthUsage } from "./delay-based.ts";

/**
 * AIMD rate control (draft-ietf-rmcat-gcc-02 §5.5; libwebrtc's AimdRateControl). Overuse cuts
 * the rate to β × what the receiver actually got; normal use raises it — multiplicatively (8 %
 * a second) while far from the last known link capacity, additively (about one packet per
 * response time) near it. The estimate may not run far ahead of the acknowledged rate, so an
 * application-limited sender cannot build an estimate it never tested.
 */
const BETA = 0.85;
const MULTIPLICATIVE_PER_SECOND = 1.08;
/** The increase is bounded by what has been shown to get through. */
const ACKED_HEADROOM = 1.5;
const ACKED_HEADROOM_BPS = 10_000;

export type RateControlState = "hold" | "increase" | "decrease";

export interface AimdOptions {
  minBps: number;
  maxBps: number;
  startBps: number;
}

export class AimdRateControl {
  #rate: number;
  #state: RateControlState = "increase";
  #lastChangeMs: number | undefined;
  #lastDecreaseMs: number | undefined;
  /** Exponentially averaged link capacity (kbps) and its normalised variance, from decreases. */
  #linkAvgKbps: number | undefined;
  #linkVar = 0.4;

  constructor(readonly options: AimdOptions) {
    this.#rate = clamp(options.startBps, options.minBps, options.maxBps);
  }

  get rate(): number {
    return this.#rate;
  }

  get state(): RateControlState {
    return this.#state;
  }

  /** Set the estimate outright (a probe result, or a cap). */
  set(rateBps: number, nowMs: number): void {
    this.#rate = clamp(rateBps, this.options.minBps, this.options.maxBps);
    this.#lastChangeMs = nowMs;
  }

  /**
   * One step per feedback: the detector's verdict, the acknowledged receive rate (if known) and
   * the round-trip time. Returns the new estimate.
   */
  update(usage: BandwidthUsage, ackedBps: number | undefined, rttMs: number, nowMs: number): number {
    // §5.5 state machine: overuse → decrease; underuse → hold (the queue is draining); normal →
    // increase, unless just decreased (hold first).
    if (usage === "overusing") this.#state = "decrease";
    else if (usage === "underusing") this.#state = "hold";
    else if (this.#state === "hold") this.#state = "increase";
    else if (this.#state === "decrease") this.#state = "hold";

    const last = this.#lastChangeMs ?? nowMs;
    const dtMs = Math.max(0, nowMs - last);
    if (this.#state === "increase") {
      if (this.#linkAvgKbps !== undefined && ackedBps !== undefined && ackedBps / 1000 > this.#linkAvgKbps + 3 * this.#linkStdKbps()) {
        // Far above the link we knew: it has changed; forget it and grow fast again.
        this.#linkAvgKbps = undefined;
      }
      let next: number;
      if (this.#linkAvgKbps !== undefined) next = this.#rate + this.#additiveIncrease(rttMs) * Math.min(dtMs, 1000) / 1000;
      else next = this.#rate * MULTIPLICATIVE_PER_SECOND ** (Math.min(dtMs, 1000) / 1000);
      if (ackedBps !== undefined) next = Math.min(next, Math.max(this.#rate, ACKED_HEADROOM * ackedBps + ACKED_HEADROOM_BPS));
      this.#rate = clamp(next, this.options.minBps, this.options.maxBps);
      this.#lastChangeMs = nowMs;
    } else if (this.#state === "decrease") {
      // At most one cut per round trip: the effect of the last one cannot be seen sooner.
      const canCut = this.#lastDecreaseMs === undefined || nowMs - this.#lastDecreaseMs >= Math.max(rttMs, 200);
      if (canCut) {
        const basis = ackedBps ?? this.#rate;
        let next = BETA * basis;
        if (next > this.#rate) next = this.#rate; // never "decrease" upwards
        if (ackedBps !== undefined) this.#updateLink(ackedBps / 1000);
        this.#rate = clamp(next, this.options.minBps, this.options.maxBps);
        this.#lastDecreaseMs = nowMs;
      }
      this.#lastChangeMs = nowMs;
      this.#state = "hold";
    } else {
      this.#lastChangeMs = nowMs;
    }
    return this.#rate;
  }

  /** Near the link's capacity: about one average packet per response time (RTT + 100 ms). */
  #additiveIncrease(rttMs: number): number {
    const bitsPerFrame = this.#rate / 30;
    const packets = Math.max(1, Math.ceil(bitsPerFrame / (1200 * 8)));
    const packetBits = bitsPerFrame / packets;
    return Math.max(4_000, packetBits / ((rttMs + 100) / 1000));
  }

  #linkStdKbps(): number {
    return Math.sqrt(this.#linkVar * (this.#linkAvgKbps ?? 0));
  }

  #updateLink(sampleKbps: number): void {
    if (this.#linkAvgKbps === undefined) {
      this.#linkAvgKbps = sampleKbps;
      return;
    }
    const alpha = 0.05;
    this.#linkAvgKbps = (1 - alpha) * this.#linkAvgKbps + alpha * sampleKbps;
    const norm = Math.max(this.#linkAvgKbps, 1);
    this.#linkVar = Math.min(2.5, Math.max(0.4, (1 - alpha) * this.#linkVar + (alpha * (this.#linkAvgKbps - sampleKbps) ** 2) / norm));
  }
}

export function clamp(value: number, min: number, max: number): number {
  return Math.min(max, Math.max(min, value));
}
