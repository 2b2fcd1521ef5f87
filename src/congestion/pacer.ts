/**
 * The pacing queue (libwebrtc's PacingController, pure and clocked from outside): packets leave
 * at a pacing rate above the target, so a keyframe's 20–40 packets are spread over tens of
 * milliseconds instead of hitting a shallow bottleneck queue in one burst.
 *
 *  - Audio is never queued: it leaves at once (and still counts against the budget).
 *  - Probe padding leaves on its own schedule (a probe must go at its own rate, above the
 *    pacing rate, to measure anything), on top of the media: charging it to the media's budget
 *    held video back until it went stale (and the receiver asked for a keyframe).
 *  - Retransmissions go before new video.
 *  - Nothing leaves faster than the pacing rate to catch up: when the encoder overshoots a
 *    collapsing estimate, a burst would only be lost at the bottleneck (and take audio with it).
 *    What is older than the stale limit is dropped instead (`dropStale`), and the caller asks
 *    for a keyframe: no seconds of delay build up.
 */
export type PacketPriority = "audio" | "retransmission" | "video" | "padding";

const ORDER: Record<PacketPriority, number> = { audio: 0, retransmission: 1, video: 2, padding: 3 };

/**
 * Packets leave at this multiple of the target while the estimate is below the ceiling (the
 * path is the limit): a keyframe spreads over ~1.5 frame intervals. libwebrtc uses 2.5; measured
 * through a 1.5 Mbit/s tbf bottleneck, 1.5 halved the audio concealed behind keyframe bursts.
 */
export const PACING_FACTOR = 1.5;
/**
 * At the ceiling nothing says the path is near our rate (the estimate is capped by what we
 * send): packets leave at 4 × the target, so pacing adds little latency to a clear path.
 */
export const CLEAR_PATH_PACING_FACTOR = 4;
/** The pacer wakes at most this often: each wake sends what fell due (fewer timers). */
const MIN_WAKE_MS = 4;
/** Video older than this in the queue is a backlog: it leaves at the target, not above it. */
const BACKLOG_MS = 150;
/** The budget may run ahead by this much time, so a wake-up sends all that fell due. */
const MAX_DEBT_MS = 5;

interface Entry<T> {
  item: T;
  size: number;
  priority: PacketPriority;
  enqueuedMs: number;
  /** Earliest send time (probe clusters are spaced at their own rate). */
  notBeforeMs: number;
}

export class Pacer<T> {
  #queues: Entry<T>[][] = [[], [], [], []];
  #queuedBytes = 0;
  #rateBps: number;
  #targetBps: number;
  #debtBytes = 0;
  #lastMs: number | undefined;

  constructor(targetBps: number) {
    this.#targetBps = targetBps;
    this.#rateBps = targetBps * PACING_FACTOR;
  }

  /** `atCeiling`: the estimate is the configured maximum, not a measured limit of the path. */
  setTarget(targetBps: number, atCeiling = false): void {
    this.#targetBps = Math.max(1, targetBps);
    this.#rateBps = this.#targetBps * (atCeiling ? CLEAR_PATH_PACING_FACTOR : PACING_FACTOR);
  }

  /**
   * The rate now: PACING_FACTOR × the target for a burst (a keyframe leaves fast), but the
   * target itself once video has waited BACKLOG_MS. A queue that old is a backlog — the encoder
   * is making more than the path carries — and sending it above the target would only overfill
   * the bottleneck, costing audio as well as video.
   */
  #rate(nowMs: number): number {
    return this.queueDelayMs(nowMs) > BACKLOG_MS ? this.#targetBps : this.#rateBps;
  }

  get queuedBytes(): number {
    return this.#queuedBytes;
  }

  get queuedPackets(): number {
    return this.#queues.reduce((n, q) => n + q.length, 0);
  }

  /** Queue a packet. Audio is returned for sending at once; everything else waits for `poll`. */
  push(item: T, size: number, priority: PacketPriority, nowMs: number, notBeforeMs = nowMs): T | undefined {
    this.#drain(nowMs);
    if (priority === "audio") {
      this.#debtBytes += size;
      return item;
    }
    this.#queues[ORDER[priority]]!.push({ item, size, priority, enqueuedMs: nowMs, notBeforeMs });
    this.#queuedBytes += size;
    return undefined;
  }

  /** The packets due now, in priority order, and when to poll next (undefined: queue empty). */
  poll(nowMs: number): { send: T[]; nextMs: number | undefined } {
    this.#drain(nowMs);
    const send: T[] = [];
    const pad = this.#queues[ORDER.padding]!;
    while (pad.length > 0 && pad[0]!.notBeforeMs <= nowMs) {
      const entry = pad.shift()!;
      this.#queuedBytes -= entry.size;
      send.push(entry.item);
    }
    const rate = this.#rate(nowMs);
    const allowance = (rate * MAX_DEBT_MS) / 1000 / 8;
    for (;;) {
      const entry = this.#next();
      if (!entry) break;
      if (this.#debtBytes > allowance) break;
      this.#take(entry);
      this.#debtBytes += entry.size;
      send.push(entry.item);
    }
    return { send, nextMs: this.#nextWake(nowMs) };
  }

  /** How long the oldest queued video packet has waited. */
  queueDelayMs(nowMs: number): number {
    const oldest = this.#queues[ORDER.video]![0] ?? this.#queues[ORDER.retransmission]![0];
    return oldest ? nowMs - oldest.enqueuedMs : 0;
  }

  /** Drop queued video and retransmissions older than `maxMs`; returns the dropped packets. */
  dropStale(nowMs: number, maxMs: number): T[] {
    if (this.queueDelayMs(nowMs) <= maxMs) return [];
    const dropped: T[] = [];
    for (const p of ["video", "retransmission"] as const) {
      for (const e of this.#queues[ORDER[p]]!) {
        dropped.push(e.item);
        this.#queuedBytes -= e.size;
      }
      this.#queues[ORDER[p]] = [];
    }
    return dropped;
  }

  /** Forget everything queued (the transport closed). */
  clear(): void {
    this.#queues = [[], [], [], []];
    this.#queuedBytes = 0;
  }

  #drain(nowMs: number): void {
    if (this.#lastMs !== undefined && nowMs > this.#lastMs) {
      this.#debtBytes = Math.max(0, this.#debtBytes - (this.#rate(nowMs) * (nowMs - this.#lastMs)) / 1000 / 8);
    }
    this.#lastMs = Math.max(this.#lastMs ?? nowMs, nowMs);
  }

  #next(): Entry<T> | undefined {
    for (let i = 0; i < 3; i++) if (this.#queues[i]!.length > 0) return this.#queues[i]![0];
    return undefined;
  }

  #take(entry: Entry<T>): void {
    this.#queues[ORDER[entry.priority]]!.shift();
    this.#queuedBytes -= entry.size;
  }

  #nextWake(nowMs: number): number | undefined {
    const media = this.#queues[ORDER.retransmission]!.length + this.#queues[ORDER.video]!.length > 0;
    const pad = this.#queues[ORDER.padding]![0];
    if (!media && !pad) return undefined;
    const rate = this.#rate(nowMs);
    const allowance = (rate * MAX_DEBT_MS) / 1000 / 8;
    const budgetAt = nowMs + (Math.max(0, this.#debtBytes - allowance) * 8 * 1000) / rate;
    const mediaAt = media ? Math.max(budgetAt, nowMs + MIN_WAKE_MS) : Infinity;
    const padAt = pad ? Math.max(pad.notBeforeMs, nowMs + 1) : Infinity;
    return Math.min(mediaAt, padAt);
  }
}
