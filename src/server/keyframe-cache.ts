/**
 * The latest keyframe group of a relayed H.264 stream, so a viewer that joins mid-stream starts
 * on an IDR at once instead of waiting up to a GOP (or seeing grey, garbled frames).
 *
 * Pure: packets are opaque; the caller says each one's RTP timestamp, size and payload.
 */

/**
 * Does this RTP payload carry the start of a keyframe? RFC 6184: a single NAL unit (types 1–23)
 * that is an SPS (7) or IDR slice (5); a STAP-A (24, §5.7.1) aggregating one; or an FU-A (28,
 * §5.8) whose start bit is set on an IDR fragment.
 */
export function startsKeyframe(payload: Uint8Array): boolean {
  if (payload.length < 1) return false;
  const type = payload[0]! & 0x1f;
  if (type === 5 || type === 7) return true;
  if (type === 24) {
    let i = 1;
    while (i + 2 < payload.length) {
      const size = (payload[i]! << 8) | payload[i + 1]!;
      const nal = payload[i + 2]! & 0x1f;
      if (nal === 5 || nal === 7) return true;
      i += 2 + size;
    }
    return false;
  }
  if (type === 28 && payload.length >= 2) {
    const start = (payload[1]! & 0x80) !== 0;
    return start && (payload[1]! & 0x1f) === 5;
  }
  return false;
}

interface Entry<P> {
  packet: P;
  timestamp: number;
  bytes: number;
}

export class KeyframeCache<P> {
  #entries: Entry<P>[] = [];
  #groupTimestamp: number | undefined;
  #bytes = 0;
  #lastPushMs = 0;

  /**
   * @param maxBytes a group larger than this (a very long GOP) is dropped, not kept partially.
   * @param staleAfterMs a group is stale once the publisher sent nothing for this long (an
   *   outage, an ICE restart): a viewer joining then would be shown a picture from before it,
   *   and then a jump in time its decoder stalls on. It waits for the next keyframe instead.
   */
  constructor(
    readonly maxBytes: number,
    readonly staleAfterMs = 2_000,
  ) {}

  push(packet: P, timestamp: number, bytes: number, keyframe: boolean, nowMs = Date.now()): void {
    if (nowMs - this.#lastPushMs > this.staleAfterMs) this.clear();
    this.#lastPushMs = nowMs;
    if (keyframe && timestamp !== this.#groupTimestamp) {
      // A new group starts with this access unit. Packets of the same access unit that came
      // before the one carrying the SPS/IDR (an SEI, an AUD) belong to it.
      const carried = this.#entries.filter((e) => e.timestamp === timestamp);
      this.#entries = carried;
      this.#bytes = carried.reduce((n, e) => n + e.bytes, 0);
      this.#groupTimestamp = timestamp;
    } else if (this.#groupTimestamp === undefined) {
      return; // nothing decodable to cache before the first keyframe
    }
    this.#entries.push({ packet, timestamp, bytes });
    this.#bytes += bytes;
    if (this.#bytes > this.maxBytes) this.clear();
  }

  /** The group from its keyframe up to the newest packet, with each packet's RTP timestamp. */
  snapshot(nowMs = Date.now()): { packet: P; timestamp: number }[] {
    if (nowMs - this.#lastPushMs > this.staleAfterMs) this.clear();
    return this.#entries.map(({ packet, timestamp }) => ({ packet, timestamp }));
  }

  get bytes(): number {
    return this.#bytes;
  }

  clear(): void {
    this.#entries = [];
    this.#bytes = 0;
    this.#groupTimestamp = undefined;
  }
}

/** A cached group laid out for one joining viewer: each packet's new timestamp and frame. */
export interface Replay {
  /** Per packet, in the snapshot's order. */
  packets: { timestamp: number; frame: number }[];
  frames: number;
}

/**
 * RTP timestamps for replaying a cached group to a joining viewer, one frame every
 * `spacingTicks`: the newest frame keeps its timestamp, each earlier one sits `spacingTicks`
 * before the next, and the caller sends frame k at k × the same spacing. The viewer thus decodes
 * the group at once (a fast-forward to the live edge), and its jitter buffer sees timestamps that
 * agree with when the frames arrive. Stamps one tick apart sent in one burst do not: the group
 * takes tens of milliseconds to arrive while its timestamps span a fraction of one, and Chromium
 * answers with a higher playout delay that stalls the next live frames for 150–450 ms (a freeze).
 * Live frames that follow keep their own timestamps, so the viewer is not left a GOP behind.
 * Timestamps are u32 and may wrap; a late retransmission keeps its frame's place.
 */
export function replayTimestamps(timestamps: readonly number[], spacingTicks: number): Replay {
  const index = new Map<number, number>();
  for (const t of timestamps) if (!index.has(t)) index.set(t, index.size);
  const frames = index.size;
  if (frames === 0) return { packets: [], frames: 0 };
  const last = [...index.keys()].at(-1)!;
  return {
    frames,
    packets: timestamps.map((t) => {
      const frame = index.get(t)!;
      return { timestamp: (last - (frames - 1 - frame) * spacingTicks) >>> 0, frame };
    }),
  };
}
