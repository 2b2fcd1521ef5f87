import { unixNsFromNtp } from "./ntp.ts";

/**
 * An RTP clock recovered from a sender's RTCP Sender Reports (RFC 3550 §6.4.1): the latest
 * NTP/RTP pair, extended at the stream's clock rate. The relay re-issues Sender Reports to its
 * viewers from this, so every viewer can still line audio up with video: both streams are mapped
 * from the publisher's own reports, whatever the relay's queueing did to the packets.
 */
export class ReportClock {
  #ntpNs: bigint | undefined;
  #rtp = 0;

  constructor(readonly rate: number) {}

  update(ntp: bigint, rtpTimestamp: number): void {
    this.#ntpNs = unixNsFromNtp(ntp);
    this.#rtp = rtpTimestamp >>> 0;
  }

  get known(): boolean {
    return this.#ntpNs !== undefined;
  }

  /** The RTP time at `unixNs` (u32, wrapping). Only once `known`. */
  at(unixNs: bigint): number {
    if (this.#ntpNs === undefined) throw new Error("no Sender Report yet");
    const ticks = ((unixNs - this.#ntpNs) * BigInt(this.rate)) / 1_000_000_000n;
    return Number((BigInt(this.#rtp) + ticks) & 0xffff_ffffn);
  }
}
