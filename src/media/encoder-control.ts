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

/**
 * Adapting, the stream starts here (or at the ceiling, if lower) and probes upwards: a start at
 * the ceiling overfills a slower link's queue before the first feedback can say so, which costs
 * the first seconds' audio and picture. Measured through a 1.5 Mbit/s tbf bottleneck (Chromium
 * receiving): starting at 2.5 Mbit/s, 32 % of the first 4 s of audio was concealed; from
 * 1 Mbit/s, under 3 %. On a clear path the start probe takes it to the ceiling within ~2 s.
 */
export const START_VIDEO_BPS = 1_000_000;

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
  /** false (--no-adapt): the encoder stays at the ceiling. */
  adapt: boolean;
}

export interface EncoderChange {
  setting: EncoderSetting;
  from: EncoderSetting;
}

/** Share of the estimate that is media: the rest is RTP/SRTP overhead and retransmissions. */
const MEDIA_SHARE = 0.9;
/**
 * Every change costs an IDR (a fresh encoder starts with one), which is itself a burst the
 * bottleneck must absorb; so the encoder moves only on a clear difference. Down: when the budget
 * is this far under the encoder's rate, at most once a second (at once when it is far under).
 * Up: when the budget has stayed this far over for UP_HOLD_MS.
 */
const DOWN_RATIO = 0.85;
const DOWN_SPACING_MS = 1_000;
const STEEP_DOWN_RATIO = 0.6;
const STEEP_DOWN_SPACING_MS = 300;
const UP_RATIO = 1.2;
const UP_HOLD_MS = 3_000;
const PROBED_HOLD_MS = 1_000;
/** Keyframes on request: at most one per this long, however many PLIs arrive. */
export const KEYFRAME_SPACING_MS = 500;
/**
 * A request that comes while a keyframe is on its way, or this soon after it left, was sent
 * before the receiver had it: that keyframe answers it (receivers repeat PLIs until one lands).
 */
const IN_FLIGHT_GRACE_MS = 150;

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

/**
 * Opus rates by the estimate: the configured one until the link is very poor. A step down is
 * taken below its threshold, and undone only above 1.5 × that (so audio does not flap).
 */
const AUDIO_STEPS: [number, number][] = [
  [300_000, 64_000],
  [180_000, 32_000],
];
const AUDIO_RECOVER = 1.5;

export class EncoderControl {
  #setting: EncoderSetting;
  #lastChangeMs = -Infinity;
  /** Since when the budget has been above the up threshold (undefined: it is not). */
  #upSince: number | undefined;
  /**
   * That rise came on a probe's measurement. It stays believed while the budget stays above
   * the threshold: the estimate's own 8 %-a-second climb after the jump (a "link clear" rise)
   * must not turn a measured rate back into one that has to hold for UP_HOLD_MS. A probe that
   * lands within a second of the last change (the next step of a probe ladder) is then taken as
   * soon as that second is up, not three seconds later.
   */
  #upProbed = false;
  #audio: number;
  #lastKeyframeMs = -Infinity;
  #pendingKeyframe = false;
  /** A requested keyframe not yet seen; then, until when requests are taken as answered by it. */
  #inFlight = false;
  #answeredUntil = -Infinity;
  /** How long a restart takes to yield its IDR (measured by the caller; starts at a guess). */
  switchLatencyMs = 150;

  constructor(readonly options: EncoderControlOptions) {
    const start = options.adapt ? Math.min(options.maxBitrate, Math.max(options.minBitrate, START_VIDEO_BPS)) : options.maxBitrate;
    this.#setting = { bitrate: start, width: options.width, height: options.height, fps: options.fps };
    this.#setting = { ...this.#shape(start, this.#setting), bitrate: start };
    this.#audio = options.audioBitrate;
  }

  get setting(): EncoderSetting {
    return this.#setting;
  }

  /** The video bitrate the estimate leaves once audio and overhead are paid for. */
  videoBudget(estimateBps: number): number {
    const o = this.options;
    const budget = estimateBps * MEDIA_SHARE - this.#audioFor(estimateBps);
    return Math.round(Math.min(o.maxBitrate, Math.max(o.minBitrate, budget)) / 10_000) * 10_000 || o.minBitrate;
  }

  /** The Opus rate for this estimate, which becomes the current one (call it with each estimate). */
  audioBitrate(estimateBps: number): number {
    this.#audio = this.#audioFor(estimateBps);
    return this.#audio;
  }

  #audioFor(estimateBps: number): number {
    let rate = this.options.audioBitrate;
    for (const [below, cap] of AUDIO_STEPS) {
      // Keep a step already taken until the estimate is well clear of it.
      const threshold = this.#audio <= cap ? below * AUDIO_RECOVER : below;
      if (estimateBps < threshold) rate = Math.min(rate, cap);
    }
    return rate;
  }

  /**
   * A new setting when the encoder should change now, else undefined. `probed`: the estimate
   * rose on a probe's measurement, which needs no holding to be believed (one second since the
   * last change suffices), now or on any later update while it stays up.
   */
  update(estimateBps: number, nowMs: number, probed = false): EncoderChange | undefined {
    const current = this.#setting;
    const budget = this.videoBudget(estimateBps);
    const since = nowMs - this.#lastChangeMs;
    const down = (budget < current.bitrate * DOWN_RATIO && since >= DOWN_SPACING_MS) || (budget < current.bitrate * STEEP_DOWN_RATIO && since >= STEEP_DOWN_SPACING_MS);
    const above = budget > current.bitrate * UP_RATIO || (budget >= this.options.maxBitrate && current.bitrate < this.options.maxBitrate);
    if (!above) {
      this.#upSince = undefined;
      this.#upProbed = false;
    } else {
      this.#upSince ??= nowMs;
      if (probed) this.#upProbed = true;
    }
    const hold = this.#upProbed ? PROBED_HOLD_MS : UP_HOLD_MS;
    const up = above && nowMs - this.#upSince! >= (this.#upProbed ? 0 : hold) && since >= hold;
    if (!down && !up) return undefined;
    this.#upSince = undefined;
    this.#upProbed = false;
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
    if (this.#inFlight || nowMs < this.#answeredUntil) return false;
    if (nowMs >= this.#earliestStart()) {
      this.#pendingKeyframe = false;
      this.#inFlight = true;
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
    this.#inFlight = false;
    this.#answeredUntil = nowMs + IN_FLIGHT_GRACE_MS;
  }

  #earliestStart(): number {
    return this.#lastKeyframeMs + KEYFRAME_SPACING_MS - this.switchLatencyMs;
  }
}

function even(n: number): number {
  return Math.max(2, Math.round(n / 2) * 2);
}
