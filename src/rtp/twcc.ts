/**
 * Transport-wide congestion control feedback (draft-holmer-rmcat-transport-wide-cc-extensions-01
 * §3.1): RTPFB (PT 205), FMT 15. Pure parsing and building, so that both ends are table- and
 * property-tested against each other and against libwebrtc's bytes.
 *
 *   0                   1                   2                   3
 *  |V=2|P|  FMT=15 |    PT=205     |           length              |
 *  |                     SSRC of packet sender                     |
 *  |                      SSRC of media source                     |
 *  |      base sequence number     |      packet status count      |
 *  |                 reference time                | fb pkt. count |
 *  |   packet chunk ...  | recv delta ... | padding                 |
 */

export const TWCC_FMT = 15;
export const RTPFB = 205;
/** Receive deltas are multiples of 250 µs (§3.1.5). */
export const DELTA_UNIT_US = 250;
/** The reference time is a multiple of 64 ms (§3.1). */
export const REFERENCE_UNIT_US = 64_000;

export interface TwccFeedback {
  senderSsrc: number;
  mediaSsrc: number;
  baseSequence: number;
  /** 24-bit, in 64 ms units. */
  referenceTime: number;
  feedbackCount: number;
  /** One entry per reported sequence number, from baseSequence on (mod 2^16). */
  packets: TwccPacketStatus[];
}

export interface TwccPacketStatus {
  sequence: number;
  /** Arrival time in µs on the receiver's clock (reference time + deltas), or undefined if lost. */
  arrivalUs: number | undefined;
}

export class TwccParseError extends Error {}

const NOT_RECEIVED = 0;
const SMALL = 1;
const LARGE = 2;

/** Parse one TWCC feedback packet (starting at its RTCP header). Throws TwccParseError. */
export function parseTwcc(packet: Uint8Array): TwccFeedback {
  if (packet.length < 20) throw new TwccParseError(`a TWCC feedback needs at least 20 bytes, got ${packet.length}`);
  const view = new DataView(packet.buffer, packet.byteOffset, packet.byteLength);
  if ((packet[0]! & 0x1f) !== TWCC_FMT || packet[1] !== RTPFB) throw new TwccParseError("not a TWCC feedback packet");
  const length = (view.getUint16(2) + 1) * 4;
  if (length > packet.length) throw new TwccParseError(`length field says ${length} bytes, only ${packet.length} present`);
  const senderSsrc = view.getUint32(4);
  const mediaSsrc = view.getUint32(8);
  const baseSequence = view.getUint16(12);
  const count = view.getUint16(14);
  const referenceTime = (packet[16]! << 16) | (packet[17]! << 8) | packet[18]!;
  const feedbackCount = packet[19]!;
  const symbols: number[] = [];
  let at = 20;
  while (symbols.length < count) {
    if (at + 2 > length) throw new TwccParseError(`packet status chunks end early (${symbols.length} of ${count} statuses)`);
    const chunk = view.getUint16(at);
    at += 2;
    if ((chunk & 0x8000) === 0) {
      // Run length chunk (§3.1.3): 2-bit symbol, 13-bit run.
      const symbol = (chunk >> 13) & 0x3;
      const run = chunk & 0x1fff;
      for (let i = 0; i < run && symbols.length < count; i++) symbols.push(symbol);
    } else if ((chunk & 0x4000) === 0) {
      // Status vector chunk, 14 one-bit symbols (§3.1.4): 0 not received, 1 small delta.
      for (let i = 13; i >= 0 && symbols.length < count; i--) symbols.push((chunk >> i) & 0x1);
    } else {
      // Status vector chunk, 7 two-bit symbols.
      for (let i = 6; i >= 0 && symbols.length < count; i--) symbols.push((chunk >> (i * 2)) & 0x3);
    }
  }
  let arrival = referenceTime * REFERENCE_UNIT_US;
  const packets: TwccPacketStatus[] = [];
  for (let i = 0; i < count; i++) {
    const symbol = symbols[i]!;
    const sequence = (baseSequence + i) & 0xffff;
    if (symbol === NOT_RECEIVED) {
      packets.push({ sequence, arrivalUs: undefined });
      continue;
    }
    if (symbol === SMALL) {
      if (at + 1 > length) throw new TwccParseError(`receive deltas end early at packet ${i} of ${count}`);
      arrival += packet[at]! * DELTA_UNIT_US;
      at += 1;
    } else if (symbol === LARGE) {
      if (at + 2 > length) throw new TwccParseError(`receive deltas end early at packet ${i} of ${count}`);
      arrival += view.getInt16(at) * DELTA_UNIT_US;
      at += 2;
    } else {
      throw new TwccParseError(`reserved packet status symbol at packet ${i}`);
    }
    packets.push({ sequence, arrivalUs: arrival });
  }
  return { senderSsrc, mediaSsrc, baseSequence, referenceTime, feedbackCount, packets };
}

export interface TwccBuild {
  senderSsrc: number;
  mediaSsrc: number;
  baseSequence: number;
  feedbackCount: number;
  /** Arrival times in µs (any epoch, ≥ 0) for baseSequence, baseSequence+1, …; undefined = lost. */
  arrivalsUs: (number | undefined)[];
}

/**
 * Build one TWCC feedback packet. The reference time is the first arrival rounded down to 64 ms;
 * each delta is rounded to 250 µs against the rounded running time, so errors never accumulate.
 * A delta beyond ±8.19 s cannot be written; the caller ends the packet before it (see
 * `maxDeltaFits`). Chunks are run-length where a run is 7 or longer, else two-bit vectors.
 */
export function buildTwcc(b: TwccBuild): Uint8Array {
  const count = b.arrivalsUs.length;
  if (count === 0 || count > 0xffff) throw new RangeError(`a TWCC feedback reports 1–65535 packets, not ${count}`);
  const first = b.arrivalsUs.find((a) => a !== undefined);
  const referenceTime = first === undefined ? 0 : Math.floor(first / REFERENCE_UNIT_US) & 0xffffff;
  let running = (first === undefined ? 0 : Math.floor(first / REFERENCE_UNIT_US)) * REFERENCE_UNIT_US;
  const symbols: number[] = [];
  const deltas: number[] = [];
  for (const a of b.arrivalsUs) {
    if (a === undefined) {
      symbols.push(NOT_RECEIVED);
      continue;
    }
    const units = Math.round((a - running) / DELTA_UNIT_US);
    if (units < -32768 || units > 32767) throw new RangeError(`a receive delta of ${units * DELTA_UNIT_US} µs does not fit`);
    running += units * DELTA_UNIT_US;
    deltas.push(units);
    symbols.push(units >= 0 && units <= 255 ? SMALL : LARGE);
  }
  const chunks: number[] = [];
  for (let i = 0; i < symbols.length; ) {
    let run = 1;
    while (i + run < symbols.length && symbols[i + run] === symbols[i] && run < 0x1fff) run++;
    if (run >= 7) {
      chunks.push((symbols[i]! << 13) | run);
      i += run;
      continue;
    }
    let chunk = 0xc000;
    for (let k = 0; k < 7; k++) chunk |= (symbols[i + k] ?? 0) << ((6 - k) * 2);
    chunks.push(chunk);
    i += 7;
  }
  const deltaBytes = deltas.reduce((n, d) => n + (d >= 0 && d <= 255 ? 1 : 2), 0);
  const body = 20 + chunks.length * 2 + deltaBytes;
  const total = Math.ceil(body / 4) * 4;
  const out = new Uint8Array(total);
  const view = new DataView(out.buffer);
  const padded = total !== body;
  out[0] = 0x80 | (padded ? 0x20 : 0) | TWCC_FMT;
  out[1] = RTPFB;
  view.setUint16(2, total / 4 - 1);
  view.setUint32(4, b.senderSsrc >>> 0);
  view.setUint32(8, b.mediaSsrc >>> 0);
  view.setUint16(12, b.baseSequence & 0xffff);
  view.setUint16(14, count);
  out[16] = (referenceTime >> 16) & 0xff;
  out[17] = (referenceTime >> 8) & 0xff;
  out[18] = referenceTime & 0xff;
  out[19] = b.feedbackCount & 0xff;
  let at = 20;
  for (const c of chunks) {
    view.setUint16(at, c);
    at += 2;
  }
  for (const d of deltas) {
    if (d >= 0 && d <= 255) out[at++] = d;
    else {
      view.setInt16(at, d);
      at += 2;
    }
  }
  // RFC 3550 §6.4.1 padding: the last octet counts the padding octets.
  if (padded) out[total - 1] = total - body;
  return out;
}

/** Whether an arrival `deltaUs` after the previous one can be written in the same feedback. */
export function maxDeltaFits(deltaUs: number): boolean {
  const units = Math.round(deltaUs / DELTA_UNIT_US);
  return units >= -32768 && units <= 32767;
}

/**
 * Extends 16-bit sequence numbers to a monotonic count (forward steps of under 2^15 move on,
 * larger ones are taken as reordering backwards), as TWCC feedback and send logs need.
 */
export class SequenceUnwrapper {
  #last: number | undefined;

  unwrap(sequence: number): number {
    if (this.#last === undefined) {
      this.#last = sequence;
      return sequence;
    }
    const diff = ((sequence - this.#last + 0x8000) & 0xffff) - 0x8000;
    this.#last += diff;
    return this.#last;
  }

  /** Without moving the reference (for lookups that must not advance it). */
  peek(sequence: number): number {
    if (this.#last === undefined) return sequence;
    return this.#last + (((sequence - this.#last + 0x8000) & 0xffff) - 0x8000);
  }
}
