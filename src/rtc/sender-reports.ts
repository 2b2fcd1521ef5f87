import { RtcpSenderInfo, RtcpSourceDescriptionPacket, RtcpSrPacket, SourceDescriptionChunk, SourceDescriptionItem, timestampSeconds } from "werift";
import { compactNtp, nowNs, ntpFromUnixNs } from "../rtp/ntp.ts";
import { buildDlrr, type DlrrItem } from "../rtp/rtcp-feedback.ts";
import type { SenderInternals } from "./sender-internals.ts";

/**
 * RTCP Sender Reports whose NTP/RTP pair comes from the capture clock (RFC 3550 §6.4.1).
 *
 * A receiver aligns audio and video by mapping each stream's RTP time to NTP through its latest
 * SR. If the pair were (send time, RTP time of the last packet) — werift's default — every
 * stream's mapping would carry its own encode and queueing delay, and audio, whose path is
 * shorter, would play early. Here both streams report the same instant: "now" on the capture
 * clock, converted by the same RtpClock that stamped the media. The first SR goes out with the
 * first packet (some servers cannot remux until they have one), then about once a second.
 * Each carries the DLRR replies owed to receivers' reference time reports (RFC 3611 §4.5), so
 * receive-only peers learn their round trip too (src/rtp/reference-time-replies.ts).
 */
export class CaptureClockSenderReports {
  #timer: ReturnType<typeof setTimeout> | undefined;
  #started = false;
  #stopped = false;

  constructor(
    readonly sender: SenderInternals,
    readonly clock: () => { at(unixNs: bigint): number } | undefined,
    readonly now: () => bigint = nowNs,
    /** The DLRR sub-blocks to send with this report (taken: each is sent once). */
    readonly replies: (nowNs: bigint) => DlrrItem[] = () => [],
  ) {
    // Silence werift's own SR loop for this sender.
    sender.runRtcp = async () => {};
  }

  /** Call after each media packet; starts the report schedule on the first. */
  onPacketSent(): void {
    if (this.#started || this.#stopped) return;
    this.#started = true;
    void this.#send();
  }

  async #send(): Promise<void> {
    if (this.#stopped) return;
    const clock = this.clock();
    const transport = this.sender.dtlsTransport;
    if (clock && transport) {
      const at = this.now();
      const ntp = ntpFromUnixNs(at);
      const packets = [
        new RtcpSrPacket({
          ssrc: this.sender.ssrc,
          senderInfo: new RtcpSenderInfo({ ntpTimestamp: ntp, rtpTimestamp: clock.at(at), packetCount: this.sender.packetCount, octetCount: this.sender.octetCount }),
        }),
      ];
      if (this.sender.cname) {
        packets.push(
          new RtcpSourceDescriptionPacket({
            chunks: [new SourceDescriptionChunk({ source: this.sender.ssrc, items: [new SourceDescriptionItem({ type: 1, text: this.sender.cname })] })],
          }) as unknown as RtcpSrPacket,
        );
      }
      const dlrr = this.replies(this.now());
      if (dlrr.length > 0) {
        const xr = Buffer.from(buildDlrr(this.sender.ssrc, dlrr));
        packets.push({ serialize: () => xr } as unknown as RtcpSrPacket);
      }
      // werift computes RTT from receiver reports that echo these (RFC 3550 §6.4.1 LSR/DLSR).
      this.sender.lastSRtimestamp = compactNtp(ntp);
      this.sender.lastSentSRTimestamp = timestampSeconds();
      await transport.sendRtcp(packets).catch(() => {});
    }
    // RFC 3550 §6.2: randomise the interval (0.5–1.5×) so reports of many senders do not align.
    this.#timer = setTimeout(() => void this.#send(), 500 + Math.random() * 1000);
  }

  stop(): void {
    this.#stopped = true;
    clearTimeout(this.#timer);
  }
}
