import { type FramecrcPacket, parseFramecrcLine, type TimeBase, toNanoseconds } from "./framecrc.ts";

/** A packet announced by its framecrc line, timestamped on ffmpeg's timeline. */
export interface PacketHeader {
  /** Presentation time on ffmpeg's output timeline, in nanoseconds. */
  ptsNs: bigint;
  durationNs: bigint;
  keyframe: boolean;
  /** Its length in bytes: exactly this many follow the line. */
  size: number;
}

/** One encoded packet cut from an ffmpeg pipe. */
export interface CutPacket extends PacketHeader {
  data: Uint8Array;
}

/** Where a PacketStream hands each packet, part by part, as its bytes arrive. */
export interface PacketParts {
  /** A packet's line arrived: its `size` bytes follow, in data() calls. */
  start(header: PacketHeader): void;
  /** The next of its bytes: a view into the pipe's chunk, which is not reused. */
  data(bytes: Uint8Array): void;
  /** Its last byte arrived. */
  end(): void;
}

/** The pipe no longer reads as framecrc lines each followed by its packet's bytes. */
export class FramingError extends Error {}

/** framecrc lines are short; anything longer means the framing was lost. */
const MAX_LINE = 1024;
const NEWLINE = 0x0a;

/**
 * Reads one ffmpeg pipe that carries, for every packet, its `framecrc` line and then its bytes.
 * ffmpeg's tee muxer writes `[f=framecrc]pipe:N|[f=h264]pipe:N` slave by slave, each flushed
 * per packet, so a packet is announced (size, pts, flags) just before its data. Its bytes are
 * handed on as they arrive (cut-through: a raw 720p frame spans some twenty pipe reads, and
 * whoever takes it need not wait for, or copy into, a whole frame), and its end is known without
 * a scan for the next start code or a second pipe to wait on. Pure: feed chunks of any size.
 */
export class PacketStream {
  /** The bytes of a line not yet ended. */
  #line: Uint8Array[] = [];
  #lineLength = 0;
  /** Bytes of the current packet still to come; undefined between packets (reading a line). */
  #remaining: number | undefined;
  #timeBase: TimeBase | undefined;

  constructor(readonly parts: PacketParts) {}

  /** Bytes from the pipe. Throws FramingError when they are not line-then-packet. */
  push(chunk: Uint8Array): void {
    let at = 0;
    while (at < chunk.byteLength) {
      if (this.#remaining === undefined) {
        const nl = chunk.indexOf(NEWLINE, at);
        const end = nl < 0 ? chunk.byteLength : nl;
        if (this.#lineLength + end - at > MAX_LINE) throw new FramingError(`no framecrc line in the next ${MAX_LINE} bytes`);
        this.#line.push(chunk.subarray(at, end));
        this.#lineLength += end - at;
        if (nl < 0) return;
        at = nl + 1;
        this.#onLine(this.#takeLine());
        continue;
      }
      const n = Math.min(this.#remaining, chunk.byteLength - at);
      this.parts.data(n === chunk.byteLength ? chunk : chunk.subarray(at, at + n));
      at += n;
      this.#remaining -= n;
      if (this.#remaining === 0) this.#endPacket();
    }
  }

  /** Bytes of a line received but not yet ended. */
  get pendingLineBytes(): number {
    return this.#lineLength;
  }

  #onLine(line: string): void {
    const parsed = parseFramecrcLine(line);
    if (parsed.kind === "timebase") this.#timeBase = parsed.timeBase;
    else if (parsed.kind === "packet") this.#startPacket(parsed.packet);
    else if (!line.startsWith("#")) throw new FramingError(`expected a framecrc line, got ${JSON.stringify(line.slice(0, 60))}`);
  }

  #startPacket(p: FramecrcPacket): void {
    const tb = this.#timeBase ?? { num: 1, den: 1_000_000 };
    this.parts.start({ ptsNs: toNanoseconds(p.pts, tb), durationNs: toNanoseconds(BigInt(p.duration), tb), keyframe: p.keyframe, size: p.size });
    this.#remaining = p.size;
    if (p.size === 0) this.#endPacket();
  }

  #endPacket(): void {
    this.#remaining = undefined;
    this.parts.end();
  }

  #takeLine(): string {
    let text = "";
    for (const part of this.#line) text += String.fromCharCode(...part);
    this.#line = [];
    this.#lineLength = 0;
    return text;
  }
}

/**
 * Whole packets from the same pipe (see PacketStream), each the moment its last byte arrives:
 * for encoded access units and PCM, which are handed on whole. Pure: feed chunks of any size,
 * drain complete packets.
 */
export class PacketCutter {
  readonly #stream: PacketStream;
  readonly #done: CutPacket[] = [];
  #header: PacketHeader | undefined;
  #parts: Uint8Array[] = [];
  #partBytes = 0;

  constructor() {
    this.#stream = new PacketStream({
      start: (header) => {
        this.#header = header;
      },
      data: (bytes) => {
        this.#parts.push(bytes);
        this.#partBytes += bytes.byteLength;
      },
      end: () => {
        this.#done.push({ ...this.#header!, data: this.#join() });
        this.#header = undefined;
      },
    });
  }

  /** Bytes from the pipe. Throws FramingError when they are not line-then-packet. */
  push(chunk: Uint8Array): CutPacket[] {
    this.#stream.push(chunk);
    return this.#done.splice(0);
  }

  /** Bytes received but not yet cut into packets. */
  get bufferedBytes(): number {
    return this.#stream.pendingLineBytes + this.#partBytes;
  }

  /** The packet's bytes: the one pipe read they came in when they fit in one (no copy). */
  #join(): Uint8Array {
    const parts = this.#parts;
    const size = this.#partBytes;
    this.#parts = [];
    this.#partBytes = 0;
    if (parts.length === 1) return parts[0]!;
    const out = new Uint8Array(size);
    let filled = 0;
    for (const p of parts) {
      out.set(p, filled);
      filled += p.byteLength;
    }
    return out;
  }
}
