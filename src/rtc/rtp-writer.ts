import type { RtpPacket } from "werift";
import { type SenderInternals, WERIFT_RTP_CACHE_SIZE } from "./sender-internals.ts";
import { UdpRoute } from "./udp-route.ts";

/**
 * Writes packetized RTP straight to a sender's SRTP transport, keeping the sender's books.
 *
 * werift's RTCRtpSender.sendRtp clones every packet, rebuilds and sorts its header extensions,
 * reads an NTP time and feeds a bandwidth estimator, one promise layer per step. With no header
 * extensions negotiated, no RED, no pending source switch and no pending-RTP queue — whipcast's
 * senders — none of that changes a byte on the wire, and at ~300 packets a second it is most of
 * the session Worker's send cost. This does what the rest of the stack reads afterwards: SSRC,
 * payload type and the (zero) continuity offsets on the header; the counts RTCP Sender Reports
 * carry (RFC 3550 §6.4.1); the history werift's RTX and the NackResponder read. Anything else
 * goes through werift's own path. The encrypted packets of one call leave together (UdpRoute).
 */
export class RtpWriter {
  #route: UdpRoute | undefined;

  constructor(readonly sender: SenderInternals) {}

  /** Whether `write` can take packets now; when false, use `sender.sendRtp`. */
  get direct(): boolean {
    const s = this.sender;
    return (
      !s.stopped &&
      s.dtlsTransport?.state === "connected" &&
      s.codec !== undefined &&
      !s.pendingRtpEnabled &&
      !s.rtpContinuityPending &&
      s.headerExtensions.length === 0 &&
      s.redRedundantPayloadType === undefined
    );
  }

  /**
   * Encrypt and send packets (one access unit, or one Opus frame), rewriting each header in place
   * as werift would. They have been handed to the socket when this returns; each packet is then
   * what went on the wire.
   */
  write(packets: RtpPacket[]): void {
    const s = this.sender;
    const transport = s.dtlsTransport!;
    const datagrams: Buffer[] = [];
    for (const packet of packets) {
      const header = packet.header;
      header.ssrc = s.ssrc;
      header.payloadType = s.codec!.payloadType;
      header.timestamp = (header.timestamp + s.timestampOffset) >>> 0;
      header.sequenceNumber = (header.sequenceNumber + s.seqOffset) & 0xffff;
      s.timestamp = header.timestamp;
      s.sequenceNumber = header.sequenceNumber;
      s.rtpTimestamp = header.timestamp;
      s.octetCount += packet.payload.length;
      s.headerBytesSent += header.serializeSize;
      s.packetCount = (s.packetCount + 1) >>> 0;
      s.rtpCache[header.sequenceNumber % WERIFT_RTP_CACHE_SIZE] = packet;
      const datagram = transport.srtp.encrypt(packet.payload, header);
      transport.bytesSent += datagram.length;
      transport.packetsSent++;
      datagrams.push(datagram);
    }
    const connection = transport.iceTransport.connection;
    if (this.#route?.connection !== connection) this.#route = new UdpRoute(connection);
    this.#route.send(datagrams);
  }
}
