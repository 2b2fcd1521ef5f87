/**
 * Sent-packet history for answering NACKs (RFC 4585 §6.2.1) with RTX (RFC 4588).
 *
 * A ring indexed by sequence number modulo a power of two ≤ 2^16, so index arithmetic stays
 * exact across the u16 wrap; an entry only answers for the exact sequence number it holds.
 */
export class PacketHistory<P> {
  readonly capacity: number;
  readonly #slots: ({ seq: number; packet: P } | undefined)[];
  #last: number | undefined;

  constructor(capacity: number) {
    if (!Number.isInteger(capacity) || capacity < 1 || capacity > 65536 || (capacity & (capacity - 1)) !== 0) {
      throw new RangeError(`history capacity must be a power of two in 1..65536 (got ${capacity})`);
    }
    this.capacity = capacity;
    this.#slots = new Array(capacity);
  }

  put(seq: number, packet: P): void {
    this.#slots[seq & (this.capacity - 1)] = { seq, packet };
    this.#last = seq;
  }

  /** Up to `n` of the most recently put packets, oldest first. */
  newest(n: number): P[] {
    const out: P[] = [];
    if (this.#last === undefined) return out;
    for (let i = Math.min(n, this.capacity) - 1; i >= 0; i--) {
      const p = this.get((this.#last - i) & 0xffff);
      if (p !== undefined) out.push(p);
    }
    return out;
  }

  get(seq: number): P | undefined {
    const slot = this.#slots[seq & (this.capacity - 1)];
    return slot?.seq === seq ? slot.packet : undefined;
  }
}

/**
 * How many packets cover `seconds` of media at `bitrate`, as a power of two. Assumes packets at
 * a quarter of the payload size on average (small P-frames, frame tails), so the real cover is
 * several times longer than asked for.
 */
export function historyCapacity(bitrate: number, seconds: number, payloadBytes: number): number {
  const packets = Math.ceil((bitrate / 8 / (payloadBytes / 4)) * seconds);
  let cap = 1024;
  while (cap < packets && cap < 65536) cap *= 2;
  return cap;
}
