/**
 * ffmpeg's `framecrc` muxer: one text line per packet, written right after the packet's bytes
 * went to the sibling tee output. It is our side channel for packet sizes and timestamps, so an
 * access unit can be handed on the moment its last byte is written (raw Annex B alone would
 * only reveal the end of a frame when the next one starts: a whole frame interval later).
 *
 *   #tb 0: 1/30
 *   0,          0,          0,        1,    27370, 0xa994e287, S=1,        8
 *   0,          1,          1,        1,     9967, 0xc3b26d6b, F=0x0, S=1,        8
 *
 * Fields: stream index, dts, pts, duration, size, adler32, then `F=0x..` only when the packet
 * flags differ from "keyframe" (libavformat/framecrcenc.c), then side data.
 */
export interface TimeBase {
  num: number;
  den: number;
}

export interface FramecrcPacket {
  stream: number;
  dts: bigint;
  pts: bigint;
  duration: number;
  size: number;
  keyframe: boolean;
}

export type FramecrcLine = { kind: "timebase"; stream: number; timeBase: TimeBase } | { kind: "packet"; packet: FramecrcPacket } | { kind: "other" };

const TB_RE = /^#tb (\d+): (\d+)\/(\d+)\s*$/;

export function parseFramecrcLine(line: string): FramecrcLine {
  if (line.startsWith("#")) {
    const m = TB_RE.exec(line);
    if (m) return { kind: "timebase", stream: Number(m[1]), timeBase: { num: Number(m[2]), den: Number(m[3]) } };
    return { kind: "other" };
  }
  const fields = line.split(",").map((f) => f.trim());
  if (fields.length < 6) return { kind: "other" };
  const [stream, dts, pts, duration, size] = fields;
  if (!/^\d+$/.test(stream!) || !/^-?\d+$/.test(dts!) || !/^-?\d+$/.test(pts!) || !/^\d+$/.test(size!)) return { kind: "other" };
  const flagsField = fields.slice(6).find((f) => f.startsWith("F="));
  const flags = flagsField === undefined ? 1 : Number.parseInt(flagsField.slice(2), 16);
  return {
    kind: "packet",
    packet: {
      stream: Number(stream),
      dts: BigInt(dts!),
      pts: BigInt(pts!),
      duration: Number(duration),
      size: Number(size),
      keyframe: (flags & 1) === 1,
    },
  };
}

/** Convert a timestamp in `timeBase` units to nanoseconds, exactly (rounded down). */
export function toNanoseconds(ts: bigint, timeBase: TimeBase): bigint {
  const num = BigInt(timeBase.num) * 1_000_000_000n * ts;
  const den = BigInt(timeBase.den);
  const q = num / den;
  return num % den !== 0n && num < 0n ? q - 1n : q;
}
