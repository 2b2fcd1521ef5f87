import { SequenceUnwrapper, type TwccFeedback } from "../rtp/twcc.ts";

/** What was sent under one transport-wide sequence number. */
export interface SentPacket {
  /** Unwrapped transport-wide sequence number. */
  sequence: number;
  sendMs: number;
  /** Bytes on the wire (the SRTP datagram). */
  size: number;
  /** The probe cluster it belongs to, if it was sent to probe the link. */
  probeCluster?: number;
}

/** A sent packet matched with its fate in a TWCC feedback. */
export interface PacketResult extends SentPacket {
  /** Arrival on the receiver's clock, in ms (only differences are meaningful), or undefined if lost. */
  arrivalMs: number | undefined;
}

/** How long a sent packet is kept waiting for feedback. */
const KEEP_MS = 10_000;
/** The receiver's reference time is 24 bits of 64 ms: it wraps every 12.4 days. */
const REFERENCE_WRAP_US = 2 ** 24 * 64_000;

/**
 * Sent packets by transport-wide sequence number (TWCC §3.1), and their matching with feedback.
 * Each packet is reported received at most once, even when feedbacks overlap or repeat; a
 * packet first reported lost and then received (reordering) is reported again as received.
 */
export class SendLog {
  readonly #sent = new Map<number, SentPacket & { received: boolean; lossReported: boolean }>();
  readonly #sendUnwrap = new SequenceUnwrapper();
  readonly #feedbackUnwrap = new SequenceUnwrapper();
  #oldest: number | undefined;
  #referenceUs: number | undefined;
  #referenceWraps = 0;

  /** Record a packet as it leaves; returns its unwrapped sequence number. */
  record(sequence16: number, sendMs: number, size: number, probeCluster?: number): number {
    const sequence = this.#sendUnwrap.unwrap(sequence16);
    this.#sent.set(sequence, { sequence, sendMs, size, received: false, lossReported: false, ...(probeCluster !== undefined ? { probeCluster } : {}) });
    this.#oldest ??= sequence;
    this.#prune(sendMs);
    return sequence;
  }

  get size(): number {
    return this.#sent.size;
  }

  /**
   * Match a feedback against the log: the results, in send order, for packets the log holds and
   * has not yet reported as they are now.
   */
  onFeedback(feedback: TwccFeedback): PacketResult[] {
    const offsetUs = this.#arrivalOffset(feedback.referenceTime * 64_000);
    const results: PacketResult[] = [];
    for (const status of feedback.packets) {
      const sequence = this.#feedbackUnwrap.unwrap(status.sequence);
      const sent = this.#sent.get(sequence);
      if (!sent || sent.received) continue;
      if (status.arrivalUs === undefined) {
        if (sent.lossReported) continue;
        sent.lossReported = true;
        results.push({ sequence, sendMs: sent.sendMs, size: sent.size, arrivalMs: undefined, ...probe(sent) });
      } else {
        sent.received = true;
        results.push({ sequence, sendMs: sent.sendMs, size: sent.size, arrivalMs: (status.arrivalUs + offsetUs) / 1000, ...probe(sent) });
      }
    }
    return results.sort((a, b) => a.sequence - b.sequence);
  }

  /**
   * The path was down (a session lost and ICE-restarted): whatever was sent meanwhile was lost
   * to the outage, not to congestion, and is never reported lost. The estimator would otherwise
   * read the whole outage as one loss burst and cut the rate the moment the stream is back.
   * A packet that does arrive late is still reported received.
   */
  forgetInFlight(): void {
    for (const p of this.#sent.values()) if (!p.received) p.lossReported = true;
  }

  /** The reference time wraps after 2^24 × 64 ms; arrival times are kept monotonic across it. */
  #arrivalOffset(referenceUs: number): number {
    if (this.#referenceUs !== undefined) {
      const back = this.#referenceUs - referenceUs;
      if (back > REFERENCE_WRAP_US / 2) this.#referenceWraps++;
      else if (back < -REFERENCE_WRAP_US / 2 && this.#referenceWraps > 0) this.#referenceWraps--;
    }
    this.#referenceUs = referenceUs;
    return this.#referenceWraps * REFERENCE_WRAP_US;
  }

  #prune(nowMs: number): void {
    while (this.#oldest !== undefined) {
      const p = this.#sent.get(this.#oldest);
      if (p && nowMs - p.sendMs < KEEP_MS) return;
      this.#sent.delete(this.#oldest);
      this.#oldest = this.#sent.size === 0 ? undefined : this.#oldest + 1;
    }
  }
}

function probe(p: SentPacket): { probeCluster?: number } {
  return p.probeCluster !== undefined ? { probeCluster: p.probeCluster } : {};
}
