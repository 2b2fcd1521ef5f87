import { compactNtp } from "./ntp.ts";
import type { DlrrItem } from "./rtcp-feedback.ts";

/**
 * The replies a sender owes to receivers' Receiver Reference Time reports (RFC 3611 §4.4–4.5).
 *
 * A receive-only peer sends no Sender Reports, so the usual round trip (RFC 3550 §6.4.1) is
 * measured only at the sender. With RRTR/DLRR the receiver learns it too, and libwebrtc needs it
 * before it maps RTP time to its own clock: without it, Chromium's requestVideoFrameCallback has
 * no `captureTime`, and playout cannot be tied to the sender's capture clock. The newest RRTR of
 * each receiver is kept until the next Sender Report carries the reply; clock injected.
 */
export class ReferenceTimeReplies {
  readonly #pending = new Map<number, { lastRr: number; receivedNs: bigint }>();

  /** A receiver's RRTR arrived at `nowNs`. */
  received(ssrc: number, ntp: bigint, nowNs: bigint): void {
    this.#pending.set(ssrc, { lastRr: compactNtp(ntp), receivedNs: nowNs });
  }

  /** The DLRR sub-blocks for every RRTR not yet answered, held until `nowNs`; then none are pending. */
  take(nowNs: bigint): DlrrItem[] {
    const out: DlrrItem[] = [];
    for (const [ssrc, p] of this.#pending) {
      const held = nowNs > p.receivedNs ? nowNs - p.receivedNs : 0n;
      out.push({ ssrc, lastRr: p.lastRr, delaySinceLastRr: Number((held * 65_536n) / 1_000_000_000n) >>> 0 });
    }
    this.#pending.clear();
    return out;
  }
}
