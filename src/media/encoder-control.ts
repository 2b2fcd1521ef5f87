/**
 * What the encoder should be doing, as a pure function of the bandwidth estimate and time:
 * the video bitrate between the floor and the ceiling, a picture size and frame rate from a
 * small ladder, the Opus rate, and when a keyframe may be made. Every change it asks for is a
 * restart of the encoder (see video-encoder.ts), so it changes only on a real difference, and
 * upwards only after the estimate has held for a while.
 */
export interface EncoderSetting {
  bitrate: number;
  width: number;
  height: number;
  fps: number;
}

export interface EncoderControlOptions {
  width: number;
  height: number;
  fps: number;
  /** --video-bitrate: the ceiling. */
  maxBitrate: number;
  /** --min-video-bitrate: the floor. */
  minBitrate: number;
  /** --audio-bitrate (0 without audio). */
  audioBitrate: number;
}

export interface EncoderChange {
  setting: EncoderSetting;
  from: EncoderSetting;
}

/** Share of the estimate that is media: the rest is RTP/SRTP overhead and retransmissions. */
const MEDIA_SHARE = 0.9;
/** Down: as soon as the estimate is this far under the encoder's rate (and one change per 500 ms). */
const DOWN_RATIO = 0.9;
const DOWN_SPACING_MS = 500;
/** Up: when the estimate is this far over, and has been for UP_HOLD_MS since the last change. */
const UP_RATIO = 1.15;
const UP_HOLD_MS = 2_000;
/** Keyframes on request: at most one per this long, however many PLIs arrive. */
export const KEYFRAME_SPACING_MS = 500;

/**
 * Picture rungs as fractions of the configured size: 720p → 540p → 360p. A rung is left
 * downwards when its bits per pixel per frame fall under DOWN_BPP, and taken upwards when the
 * larger one would get UP_BPP (hysteresis, so the size does not flap). Below the smallest
 * rung's floor the frame rate halves.
 */
const RUNGS = [1, 0.75, 0.5];
const DOWN_BPP = 0.03;
const UP_BPP = 0.045;
const HALF_FPS_BPP = 0.02;

/** Opus rates by the estimate: the configured one until the link is very poor. */
const AUDIO_STEPS: [number, number][] = [
  [400_000, 64_000],
  [200_000, 32_000],
];

export class EncoderControl {
  #setting: EncoderSetting;
  #lastChangeMs = -Infinity;
  #lastKeyframeMs = -Infinity;
  #pendingKeyframe = false;
  /** How long a restart takes to yield its IDR (measured by the caller; starts at a guess). */
  switchLatencyMs = 150;

  constructor(readonly options: EncoderControlOptions) {
    this.#setting = { bitrate: options.maxBitrate, width: options.width, height: options.height, fps: options.fps };
  }

  get setting(): EncoderSetting {
    return this.#setting;
  }

  /** The video bitrate the estimate leaves once audio and overhead are paid for. */
  videoBudget(estimateBps: number): number {
    const o = this.options;
    const budget = estimateBps * MEDIA_SHARE - this.audioBitrate(estimateBps);
    return Math.round(Math.min(o.maxBitrate, Math.max(o.minBitrate, budget)) / 10_000) * 10_000 || o.minBitrate;
  }

  audioBitrate(estimateBps: number): number {
    let rate = this.options.audioBitrate;
    for (const [below, cap] of AUDIO_STEPS) if (estimateBps < below) rate = Math.min(rate, cap);
    return rate;
  }

  /** A new setting when the encoder should change now, else undefined. */
  update(estimateBps: number, nowMs: number): EncoderChange | undefined {
    const current = this.#setting;
    const budget = this.videoBudget(estimateBps);
    const down = budget < current.bitrate * DOWN_RATIO && nowMs - this.#lastChangeMs >= DOWN_SPACING_MS;
    const up = budget > current.bitrate * UP_RATIO && nowMs - this.#lastChangeMs >= UP_HOLD_MS;
    const toCeiling = budget >= this.options.maxBitrate && current.bitrate < this.options.maxBitrate && nowMs - this.#lastChangeMs >= UP_HOLD_MS;
    if (!down && !up && !toCeiling) return undefined;
    const next = { ...this.#shape(budget, current), bitrate: budget };
    this.#setting = next;
    this.#lastChangeMs = nowMs;
    return { setting: next, from: current };
  }

  /** The ladder: which size and frame rate suit `bitrate`, moving from `current` with hysteresis. */
  #shape(bitrate: number, current: EncoderSetting): Omit<EncoderSetting, "bitrate"> {
    const o = this.options;
    const sizes = RUNGS.map((f) => ({ width: even(o.width * f), height: even(o.height * f) })).filter((s, i, all) => i === 0 || s.height >= 180 || s.height < all[0]!.height / 2);
    const bpp = (s: { width: number; height: number }, fps: number) => bitrate / (s.width * s.height * fps);
    let index = Math.max(0, sizes.findIndex((s) => s.height === current.height));
    while (index < sizes.length - 1 && bpp(sizes[index]!, o.fps) < DOWN_BPP) index++;
    while (index > 0 && bpp(sizes[index - 1]!, o.fps) >= UP_BPP) index--;
    const size = sizes[index]!;
    const lowest = index === sizes.length - 1;
    const fps = lowest && o.fps > 15 && bpp(size, o.fps) < (current.fps < o.fps ? HALF_FPS_BPP * 1.5 : HALF_FPS_BPP) ? Math.round(o.fps / 2) : o.fps;
    return { ...size, fps };
  }

  /**
   * A keyframe was asked for (PLI, FIR, a stale queue). Returns true when one should be started
   * now; otherwise one is owed and `keyframeDue` says when to start it. A start is timed so that
   * its IDR lands KEYFRAME_SPACING_MS after the previous one (the restart's latency ahead), which
   * keeps both promises: one keyframe per 500 ms, and an IDR within 500 ms of the request.
   */
  requestKeyframe(nowMs: number): boolean {
    if (nowMs >= this.#earliestStart()) {
      this.#pendingKeyframe = false;
      // Counted from now, until the IDR itself is seen (keyframeSent).
      this.#lastKeyframeMs = nowMs + this.switchLatencyMs;
      return true;
    }
    this.#pendingKeyframe = true;
    return false;
  }

  /** When an owed keyframe may be started (undefined: none owed). */
  keyframeDue(): number | undefined {
    return this.#pendingKeyframe ? this.#earliestStart() : undefined;
  }

  /** Any IDR counts, whatever made it (a restart, the GOP), and settles what was owed. */
  keyframeSent(nowMs: number): void {
    this.#lastKeyframeMs = nowMs;
    this.#pendingKeyframe = false;
  }

  #earliestStart(): number {
    return this.#lastKeyframeMs + KEYFRAME_SPACING_MS - this.switchLatencyMs;
  }
}

function even(n: number): number {
  return Math.max(2, Math.round(n / 2) * 2);
}
