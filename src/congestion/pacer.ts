/**
 * The pacing queue (libwebrtc's PacingController, pure and clocked from outside): packets leave
 * at a pacing rate above the target, so a keyframe's 20–40 packets are spread over tens of
 * milliseconds instead of hitting a shallow bottleneck queue in one burst.
 *
 *  - Audio is never queued: it leaves at once (and still counts against the budget).
 *  - Retransmissions go before new video; probe padding only when nothing else waits.
 *  - The queue drains at least fast enough to empty within QUEUE_TARGET_MS, so a collapsing
 *    estimate cannot build seconds of delay; what is older than the stale limit is dropped
 *    by the caller (`dropStale`), which then asks for a keyframe.
 */
export type PacketPriority = "audio" | "retransmission" | "video" | "padding";

const ORDER: Record<PacketPriority, number> = { audio: 0, retransmission: 1, video: 2, padding: 3 };

/** libwebrtc's default pacing factor: 2.5 × the target. */
export const PACING_FACTOR = 2.5;
/** The budget may run ahead by this much time, so a wake-up sends all that fell due. */
const MAX_DEBT_MS = 5;
/** The queue is drained within this time at the least, whatever the target. */
const QUEUE_TARGET_MS = 500;

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
  #debtBytes = 0;
  #lastMs: number | undefined;

  constructor(targetBps: number) {
    this.#rateBps = targetBps * PACING_FACTOR;
  }

  setTarget(targetBps: number): void {
    this.#rateBps = Math.max(1, targetBps * PACING_FACTOR);
  }

  get pacingBps(): number {
    return this.#rateBps;
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
    const rate = this.#effectiveRate(nowMs);
    const allowance = (rate * MAX_DEBT_MS) / 1000 / 8;
    for (;;) {
      const entry = this.#next(nowMs);
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

  /**
   * The pacing rate, raised when needed so that what is queued leaves before the oldest video
   * packet has waited QUEUE_TARGET_MS (libwebrtc's queue time limit, shorter here: live video).
   */
  #effectiveRate(nowMs: number): number {
    const media = this.#queuedBytes - this.#queues[ORDER.padding]!.reduce((n, e) => n + e.size, 0);
    if (media <= 0) return this.#rateBps;
    const remainingMs = Math.max(20, QUEUE_TARGET_MS - this.queueDelayMs(nowMs));
    return Math.max(this.#rateBps, (media * 8 * 1000) / remainingMs);
  }

  #drain(nowMs: number): void {
    if (this.#lastMs !== undefined && nowMs > this.#lastMs) {
      this.#debtBytes = Math.max(0, this.#debtBytes - (this.#effectiveRate(nowMs) * (nowMs - this.#lastMs)) / 1000 / 8);
    }
    this.#lastMs = Math.max(this.#lastMs ?? nowMs, nowMs);
  }

  #next(nowMs: number): Entry<T> | undefined {
    for (let i = 0; i < 3; i++) if (this.#queues[i]!.length > 0) return this.#queues[i]![0];
    const pad = this.#queues[ORDER.padding]![0];
    return pad && pad.notBeforeMs <= nowMs ? pad : undefined;
  }

  #take(entry: Entry<T>): void {
    this.#queues[ORDER[entry.priority]]!.shift();
    this.#queuedBytes -= entry.size;
  }

  #nextWake(nowMs: number): number | undefined {
    const media = this.#queues[ORDER.retransmission]!.length + this.#queues[ORDER.video]!.length > 0;
    const pad = this.#queues[ORDER.padding]![0];
    if (!media && !pad) return undefined;
    const rate = this.#effectiveRate(nowMs);
    const allowance = (rate * MAX_DEBT_MS) / 1000 / 8;
    const budgetAt = nowMs + (Math.max(0, this.#debtBytes - allowance) * 8 * 1000) / rate;
    if (media) return Math.max(budgetAt, nowMs + 1);
    return Math.max(budgetAt, pad!.notBeforeMs, nowMs + 1);
  }
}
