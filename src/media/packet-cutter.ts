import { type FramecrcPacket, parseFramecrcLine, type TimeBase, toNanoseconds } from "./framecrc.ts";

/** One encoded packet cut from an ffmpeg byte pipe, timestamped on ffmpeg's timeline. */
export interface CutPacket {
  data: Uint8Array;
  /** Presentation time on ffmpeg's output timeline, in nanoseconds. */
  ptsNs: bigint;
  durationNs: bigint;
  keyframe: boolean;
}

/**
 * Joins an ffmpeg data pipe (Annex B or PCM bytes) with its framecrc side channel and cuts the
 * byte stream into packets by the sizes framecrc reports. Pure: the caller feeds chunks from
 * either pipe in whatever order they arrive and drains complete packets.
 */
export class PacketCutter {
  #chunks: Uint8Array[] = [];
  #buffered = 0;
  #text = "";
  #pending: FramecrcPacket[] = [];
  #timeBase: TimeBase | undefined;

  /** Bytes from the data pipe. */
  pushData(chunk: Uint8Array): CutPacket[] {
    if (chunk.byteLength > 0) {
      this.#chunks.push(chunk);
      this.#buffered += chunk.byteLength;
    }
    return this.#drain();
  }

  /** Text from the framecrc pipe; lines may be split across chunks. */
  pushIndex(chunk: string): CutPacket[] {
    this.#text += chunk;
    let nl: number;
    while ((nl = this.#text.indexOf("\n")) >= 0) {
      const line = this.#text.slice(0, nl);
      this.#text = this.#text.slice(nl + 1);
      const parsed = parseFramecrcLine(line);
      if (parsed.kind === "timebase") this.#timeBase = parsed.timeBase;
      else if (parsed.kind === "packet") this.#pending.push(parsed.packet);
    }
    return this.#drain();
  }

  /** Bytes received but not yet claimed by an index line. */
  get bufferedBytes(): number {
    return this.#buffered;
  }

  #drain(): CutPacket[] {
    const out: CutPacket[] = [];
    while (this.#pending.length > 0 && this.#pending[0]!.size <= this.#buffered) {
      const p = this.#pending.shift()!;
      const tb = this.#timeBase ?? { num: 1, den: 1_000_000 };
      out.push({ data: this.#take(p.size), ptsNs: toNanoseconds(p.pts, tb), durationNs: toNanoseconds(BigInt(p.duration), tb), keyframe: p.keyframe });
    }
    return out;
  }

  #take(size: number): Uint8Array {
    this.#buffered -= size;
    const first = this.#chunks[0];
    // Fast path: the packet is exactly one pipe read (the common case with -flush_packets 1).
    if (first !== undefined && first.byteLength === size) {
      this.#chunks.shift();
      return first;
    }
    if (first !== undefined && first.byteLength > size) {
      this.#chunks[0] = first.subarray(size);
      return first.slice(0, size);
    }
    const out = new Uint8Array(size);
    let filled = 0;
    while (filled < size) {
      const c = this.#chunks[0]!;
      const n = Math.min(c.byteLength, size - filled);
      out.set(c.subarray(0, n), filled);
      filled += n;
      if (n === c.byteLength) this.#chunks.shift();
      else this.#chunks[0] = c.subarray(n);
    }
    return out;
  }
}
