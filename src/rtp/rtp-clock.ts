/**
 * Capture clock → RTP clock (RFC 3550 §5.1).
 *
 * Every timestamp is computed from the elapsed capture time since the shared start, never by
 * adding per-frame increments, so rounding never accumulates into drift. Each stream starts at
 * its own random 32-bit base (RFC 3550 §5.1: "the initial value of the timestamp SHOULD be
 * random"), and the result wraps modulo 2^32 exactly because the arithmetic is done in bigint.
 */
export const VIDEO_CLOCK_RATE = 90_000;
export const AUDIO_CLOCK_RATE = 48_000;

const NS_PER_SECOND = 1_000_000_000n;
const U32 = 1n << 32n;

export class RtpClock {
  readonly #rate: bigint;
  readonly #base: bigint;

  constructor(
    readonly clockRate: number,
    /** Capture time (ns) that maps to `base`; shared by all streams of a session. */
    readonly startNs: bigint,
    /** The stream's random initial timestamp, 0 ≤ base < 2^32. */
    readonly base: number,
  ) {
    if (!Number.isInteger(clockRate) || clockRate <= 0) throw new RangeError(`clock rate must be a positive integer (got ${clockRate})`);
    if (!Number.isInteger(base) || base < 0 || base >= 2 ** 32) throw new RangeError(`RTP base must be a u32 (got ${base})`);
    this.#rate = BigInt(clockRate);
    this.#base = BigInt(base);
  }

  /**
   * RTP timestamp of the instant `captureNs` on the capture clock, rounded to the nearest tick:
   * frame k at 30 fps arrives as ⌊k·10⁹/30⌋ ns, which must still map to exactly 3000·k.
   */
  at(captureNs: bigint): number {
    const ticks = floorDiv(2n * (captureNs - this.startNs) * this.#rate + NS_PER_SECOND, 2n * NS_PER_SECOND);
    return Number(mod(this.#base + ticks, U32));
  }
}

/** Both clocks of one session: one start time, independent random bases. */
export function createSessionClocks(startNs: bigint, randomU32: () => number): { video: RtpClock; audio: RtpClock } {
  return {
    video: new RtpClock(VIDEO_CLOCK_RATE, startNs, randomU32()),
    audio: new RtpClock(AUDIO_CLOCK_RATE, startNs, randomU32()),
  };
}

export function cryptoRandomU32(): number {
  return crypto.getRandomValues(new Uint32Array(1))[0]!;
}

function floorDiv(a: bigint, b: bigint): bigint {
  const q = a / b;
  return a % b !== 0n && (a < 0n) !== (b < 0n) ? q - 1n : q;
}

function mod(a: bigint, m: bigint): bigint {
  const r = a % m;
  return r < 0n ? r + m : r;
}
