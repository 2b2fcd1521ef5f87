import { type FramecrcPacket, parseFramecrcLine, type TimeBase, toNanoseconds } from "./framecrc.ts";

/** One encoded packet cut from an ffmpeg pipe, timestamped on ffmpeg's timeline. */
export interface CutPacket {
  data: Uint8Array;
  /** Presentation time on ffmpeg's output timeline, in nanoseconds. */
  ptsNs: bigint;
  durationNs: bigint;
  keyframe: boolean;
}

/** The pipe no longer reads as framecrc lines each followed by its packet's bytes. */
export class FramingError extends Error {}

/** framecrc lines are short; anything longer means the framing was lost. */
const MAX_LINE = 1024;
const NEWLINE = 0x0a;

/**
 * Cuts one ffmpeg pipe that carries, for every packet, its `framecrc` line and then its bytes.
 * ffmpeg's tee muxer writes `[f=framecrc]pipe:N|[f=h264]pipe:N` slave by slave, each flushed
 * per packet, so a packet is announced (size, pts, flags) just before its data: it can be
 * handed on the moment its last byte arrives, with no scan for the next start code and no
 * second pipe to wait on. Pure: feed chunks of any size, drain complete packets.
 */
export class PacketCutter {
  #chunks: Uint8Array[] = [];
  #buffered = 0;
  #announced: FramecrcPacket | undefined;
  #timeBase: TimeBase | undefined;

  /** Bytes from the pipe. Throws FramingError when they are not line-then-packet. */
  push(chunk: Uint8Array): CutPacket[] {
    if (chunk.byteLength > 0) {
      this.#chunks.push(chunk);
      this.#buffered += chunk.byteLength;
    }
    const out: CutPacket[] = [];
    for (;;) {
      if (this.#announced === undefined) {
        const line = this.#takeLine();
        if (line === undefined) return out;
        const parsed = parseFramecrcLine(line);
        if (parsed.kind === "timebase") this.#timeBase = parsed.timeBase;
        else if (parsed.kind === "packet") this.#announced = parsed.packet;
        else if (!line.startsWith("#")) throw new FramingError(`expected a framecrc line, got ${JSON.stringify(line.slice(0, 60))}`);
        continue;
      }
      const p = this.#announced;
      if (this.#buffered < p.size) return out;
      this.#announced = undefined;
      const tb = this.#timeBase ?? { num: 1, den: 1_000_000 };
      out.push({ data: this.#take(p.size), ptsNs: toNanoseconds(p.pts, tb), durationNs: toNanoseconds(BigInt(p.duration), tb), keyframe: p.keyframe });
    }
  }

  /** Bytes received but not yet cut into packets. */
  get bufferedBytes(): number {
    return this.#buffered;
  }

  /** The next complete line (without its newline), or undefined until it has arrived. */
  #takeLine(): string | undefined {
    let length = 0;
    for (const c of this.#chunks) {
      const nl = c.indexOf(NEWLINE);
      if (nl >= 0) {
        length += nl;
        if (length > MAX_LINE) break;
        const bytes = this.#take(length + 1);
        return String.fromCharCode(...bytes.subarray(0, length));
      }
      length += c.byteLength;
      if (length > MAX_LINE) break;
    }
    if (length > MAX_LINE) throw new FramingError(`no framecrc line in the next ${MAX_LINE} bytes`);
    return undefined;
  }

  #take(size: number): Uint8Array {
    this.#buffered -= size;
    const first = this.#chunks[0];
    // Fast path: the bytes are exactly one pipe read.
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
