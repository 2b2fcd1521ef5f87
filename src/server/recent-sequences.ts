/**
 * Which of the last `window` RTP sequence numbers (mod 2^16) have been seen: a ring of the
 * sequence numbers themselves, so a number only matches the exact one stored in its slot.
 */
export class RecentSequences {
  readonly #slots: Int32Array;

  constructor(readonly window: number) {
    if ((window & (window - 1)) !== 0 || window < 1 || window > 32768) throw new RangeError(`window must be a power of two up to 32768 (got ${window})`);
    this.#slots = new Int32Array(window).fill(-1);
  }

  has(sequence: number): boolean {
    return this.#slots[sequence & (this.window - 1)] === sequence;
  }

  add(sequence: number): void {
    this.#slots[sequence & (this.window - 1)] = sequence;
  }
}
