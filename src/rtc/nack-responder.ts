import { GenericNack, type RtcpPacket, RtcpTransportLayerFeedback, type RtpPacket, wrapRtx } from "werift";
import { PacketHistory } from "../rtp/packet-history.ts";
import { type SenderInternals, WERIFT_RTP_CACHE_SIZE } from "./sender-internals.ts";

/**
 * Answers Generic NACKs (RFC 4585 §6.2.1) from a history sized for the bitrate, retransmitting
 * over RTX (RFC 4588 §4) on its own SSRC and sequence space. Replaces werift's fixed 128-packet
 * history, which covers about half a second at 2.5 Mbit/s: too little once the RTT grows.
 */
export class NackResponder {
  readonly history: PacketHistory<RtpPacket>;
  readonly #original: (packet: RtcpPacket) => void;

  constructor(
    readonly sender: SenderInternals,
    capacity: number,
  ) {
    this.history = new PacketHistory<RtpPacket>(capacity);
    this.#original = sender.handleRtcpPacket.bind(sender);
    sender.handleRtcpPacket = (packet) => {
      if (packet.type === RtcpTransportLayerFeedback.type && (packet as RtcpTransportLayerFeedback).feedback.count === GenericNack.count) {
        void this.#answer((packet as RtcpTransportLayerFeedback).feedback as GenericNack);
        return;
      }
      this.#original(packet);
    };
  }

  /** Record the packet werift just sent with this sequence number, as it went on the wire. */
  recordSent(sequenceNumber: number): void {
    const sent = this.sender.rtpCache[sequenceNumber % WERIFT_RTP_CACHE_SIZE];
    if (sent && sent.header.sequenceNumber === sequenceNumber) this.history.put(sequenceNumber, sent);
  }

  async #answer(nack: GenericNack): Promise<void> {
    const s = this.sender;
    s.nackCount++;
    const transport = s.dtlsTransport;
    if (!transport) return;
    for (const seq of nack.lost) {
      const original = this.history.get(seq);
      if (!original) continue;
      let packet = original;
      if (s.rtxPayloadType !== undefined) {
        packet = wrapRtx(original, s.rtxPayloadType, s.rtxSequenceNumber, s.rtxSsrc);
        s.rtxSequenceNumber = (s.rtxSequenceNumber + 1) & 0xffff;
      }
      s.retransmittedPacketsSent++;
      s.retransmittedBytesSent += packet.payload.length;
      s.headerBytesSent += packet.header.serializeSize;
      await transport.sendRtp(packet.payload, packet.header).catch(() => {});
    }
    s.onGenericNack.execute(nack);
  }
}

