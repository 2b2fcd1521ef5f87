import { clamp } from "./aimd.ts";

/**
 * The loss-based half of GCC (draft-ietf-rmcat-gcc-02 §6; libwebrtc's SendSideBandwidth-
 * Estimation): under 2 % loss the rate may grow 8 % a second; between 2 and 10 % it holds, which
 * is what RTX and Opus FEC repair; above 10 % it is cut by half the loss fraction, at most once
 * per 300 ms + RTT so each cut can show its effect.
 */
const LOW_LOSS = 0.02;
const HIGH_LOSS = 0.1;

export class LossBasedControl {
  #rate: number;
  #lastIncreaseMs: number | undefined;
  #lastDecreaseMs: number | undefined;
  #lossFraction = 0;

  constructor(
    readonly minBps: number,
    readonly maxBps: number,
    startBps: number,
  ) {
    this.#rate = clamp(startBps, minBps, maxBps);
  }

  get rate(): number {
    return this.#rate;
  }

  get lossFraction(): number {
    return this.#lossFraction;
  }

  /**
   * One loss observation (over the packets of a feedback interval), against the target now in
   * force. Returns the new loss-based limit.
   */
  update(lossFraction: number, rttMs: number, nowMs: number, targetBps: number): number {
    this.#lossFraction = lossFraction;
    if (lossFraction <= LOW_LOSS) {
      const dt = this.#lastIncreaseMs === undefined ? 0 : Math.min(nowMs - this.#lastIncreaseMs, 1000);
      this.#rate = clamp(this.#rate * 1.08 ** (dt / 1000) + (dt > 0 ? 1_000 : 0), this.minBps, this.maxBps);
      this.#lastIncreaseMs = nowMs;
    } else if (lossFraction > HIGH_LOSS) {
      if (this.#lastDecreaseMs === undefined || nowMs - this.#lastDecreaseMs >= 300 + rttMs) {
        this.#rate = clamp(Math.min(this.#rate, targetBps) * (1 - 0.5 * lossFraction), this.minBps, this.maxBps);
        this.#lastDecreaseMs = nowMs;
      }
      this.#lastIncreaseMs = nowMs;
    } else {
      this.#lastIncreaseMs = nowMs;
    }
    return this.#rate;
  }

  /** A probe showed the link carries `bps`: the limit is at least that. */
  raiseTo(bps: number): void {
    this.#rate = Math.max(this.#rate, clamp(bps, this.minBps, this.maxBps));
  }
}
