import { GenericNack, type RtcpPacket, RtcpTransportLayerFeedback, type RtpPacket, wrapRtx } from "werift";
import { PacketHistory } from "../rtp/packet-history.ts";
import type { PacketPriority } from "../congestion/pacer.ts";
import type { SendTransport } from "./send-transport.ts";
import { type SenderInternals, WERIFT_RTP_CACHE_SIZE } from "./sender-internals.ts";
import { CaptureClockSenderReports } from "./sender-reports.ts";

export const TRANSPORT_CC_URI = "http://www.ietf.org/id/draft-holmer-rmcat-transport-wide-cc-extensions-01";

export interface SenderPipelineOptions {
  kind: "audio" | "video";
  /** Packets kept for NACK answers (video; 0 for none). */
  historyCapacity: number;
  /** The clock that stamped this stream's media, for capture-time Sender Reports. */
  clock: () => { at(unixNs: bigint): number } | undefined;
  /**
   * Number packets as they leave (the publisher's own streams): video the pacer drops as stale
   * then leaves no gap a receiver would NACK in vain — it sees whole frames missing, and the
   * keyframe asked for at the drop. Off for relayed packets, which keep the publisher's numbers
   * so each viewer's gaps still match what the publisher can repair.
   */
  numberOnRelease?: boolean;
  /**
   * Where the Sender Report counts start (RFC 3550 §6.4.1: 32-bit packet and octet counts,
   * which wrap). Tests start them just below 2^32; otherwise 0, as werift does.
   */
  counts?: { packets: number; octets: number };
  /** With numberOnRelease: the first RTP sequence number (u16); tests start it near 2^16. */
  firstSequence?: number;
}

/**
 * One outgoing RTP stream, as Pion's interceptor chain would build it:
 *
 *   packetized RTP → header books (SSRC, PT, continuity) → SendTransport (pace, stamp the
 *   transport-wide sequence number, SRTP, socket) → release: NACK history, Sender Report counts
 *
 * It replaces werift's per-packet send path, its 128-packet NACK answer and its send-time
 * Sender Reports, on a real RTCRtpSender whose books it keeps as werift would (so werift's
 * getStats and RTCP stay right). The publisher's tracks and every relay viewer's use it.
 */
export class SenderPipeline {
  readonly history: PacketHistory<RtpPacket>;
  readonly reports: CaptureClockSenderReports;
  readonly #original: (packet: RtcpPacket) => void;
  #closed = false;
  /** The next sequence number, when numbering on release. */
  #nextSequence: number | undefined;
  /** The negotiated transport-cc id, looked up once per negotiated extension list. */
  #transportCc: { for: unknown; id: number | undefined } | undefined;

  constructor(
    readonly sender: SenderInternals,
    readonly transport: SendTransport,
    readonly options: SenderPipelineOptions,
  ) {
    this.history = new PacketHistory<RtpPacket>(Math.max(1, options.historyCapacity));
    this.reports = new CaptureClockSenderReports(sender, options.clock);
    if (options.counts) {
      sender.packetCount = options.counts.packets >>> 0;
      sender.octetCount = options.counts.octets >>> 0;
    }
    this.#original = sender.handleRtcpPacket.bind(sender);
    // NACKs are answered here, through the pacer; everything else werift handles as before.
    sender.handleRtcpPacket = (packet) => {
      if (packet.type === RtcpTransportLayerFeedback.type && (packet as RtcpTransportLayerFeedback).feedback.count === GenericNack.count) {
        this.#answer((packet as RtcpTransportLayerFeedback).feedback as GenericNack);
        return;
      }
      this.#original(packet);
    };
    transport.add(this);
  }

  get ssrc(): number {
    return this.sender.ssrc;
  }

  /** Whether packets can go out now (DTLS up, a codec negotiated, the sender running). */
  get ready(): boolean {
    const s = this.sender;
    return !this.#closed && !s.stopped && s.dtlsTransport?.state === "connected" && s.codec !== undefined;
  }

  /** The id the remote side gave the transport-wide-cc extension, if it took it. */
  get transportCcId(): number | undefined {
    // Read for every packet released: the list only changes when werift renegotiates.
    const list = this.sender.headerExtensions;
    if (this.#transportCc?.for !== list) this.#transportCc = { for: list, id: list.find((e) => e.uri === TRANSPORT_CC_URI)?.id };
    return this.#transportCc.id;
  }

  /**
   * Queue packetized RTP (one access unit, or one Opus frame), rewriting each header in place
   * as werift would. `receivedNs`: when the frame was handed over, for the per-frame latency
   * figures (measured on its last packet).
   */
  send(packets: RtpPacket[], receivedNs?: bigint): void {
    if (!this.ready) return;
    const s = this.sender;
    const priority: PacketPriority = this.options.kind === "audio" ? "audio" : "video";
    for (const packet of packets) {
      const header = packet.header;
      header.ssrc = s.ssrc;
      header.payloadType = s.codec!.payloadType;
      header.timestamp = (header.timestamp + s.timestampOffset) >>> 0;
      header.sequenceNumber = (header.sequenceNumber + s.seqOffset) & 0xffff;
      s.timestamp = header.timestamp;
      s.sequenceNumber = header.sequenceNumber;
      s.rtpTimestamp = header.timestamp;
      const last = receivedNs !== undefined && packet === packets[packets.length - 1];
      this.transport.enqueue(this, packet, priority, undefined, undefined, last ? { receivedNs } : undefined);
    }
  }

  /**
   * The transport is sending `packet` now (after pacing). Book it as werift would: the counts
   * Sender Reports carry (RFC 3550 §6.4.1), the history NACKs are answered from.
   */
  onRelease(packet: RtpPacket, priority: PacketPriority): void {
    const s = this.sender;
    if (priority === "retransmission" || priority === "padding") {
      // RTX has its own sequence space, numbered when it was made.
      s.retransmittedPacketsSent++;
      s.retransmittedBytesSent += packet.payload.length;
      s.headerBytesSent += packet.header.serializeSize;
      return;
    }
    // Both counts are 32-bit on the wire and wrap (RFC 3550 §6.4.1); werift never wraps the
    // octet count, and its SR serializer throws past 2^32 − 1 (4 GiB: ~2.4 h at 4 Mbit/s).
    s.octetCount = (s.octetCount + packet.payload.length) >>> 0;
    s.headerBytesSent += packet.header.serializeSize;
    s.packetCount = (s.packetCount + 1) >>> 0;
    s.rtpCache[packet.header.sequenceNumber % WERIFT_RTP_CACHE_SIZE] = packet;
    if (this.options.historyCapacity > 0) this.history.put(packet.header.sequenceNumber, packet);
    this.reports.onPacketSent();
  }

  /** Called just before the packet is encrypted: its final sequence number, when numbering on release. */
  number(packet: RtpPacket, priority: PacketPriority): void {
    if (!this.options.numberOnRelease || priority === "retransmission" || priority === "padding") return;
    this.#nextSequence ??= this.options.firstSequence ?? packet.header.sequenceNumber;
    packet.header.sequenceNumber = this.#nextSequence;
    this.#nextSequence = (this.#nextSequence + 1) & 0xffff;
    this.sender.sequenceNumber = packet.header.sequenceNumber;
  }

  /** An RTX copy (RFC 4588 §4) of a sent packet, on the RTX SSRC and its own sequence space. */
  #rtx(original: RtpPacket): RtpPacket | undefined {
    const s = this.sender;
    if (s.rtxPayloadType === undefined) return undefined;
    const packet = wrapRtx(original, s.rtxPayloadType, s.rtxSequenceNumber, s.rtxSsrc);
    packet.header.extensions = [];
    s.rtxSequenceNumber = (s.rtxSequenceNumber + 1) & 0xffff;
    return packet;
  }

  /** Generic NACK (RFC 4585 §6.2.1): resend what the history still has, ahead of new video. */
  #answer(nack: GenericNack): void {
    const s = this.sender;
    s.nackCount++;
    if (!this.ready) return;
    for (const seq of nack.lost) {
      const original = this.history.get(seq);
      if (!original) continue;
      const packet = this.#rtx(original) ?? original;
      this.transport.enqueue(this, packet, "retransmission");
    }
    s.onGenericNack.execute(nack);
  }

  /**
   * Padding for a probe cluster: an RTX copy of a recent sent packet (the receiver drops the
   * duplicate; libwebrtc pads this way too). Undefined when there is no RTX or no history.
   */
  probePacket(minSize: number): RtpPacket | undefined {
    if (!this.ready || this.sender.rtxPayloadType === undefined) return undefined;
    const recent = this.history.newest(8).filter((p) => p.payload.length >= minSize);
    const original = recent[recent.length - 1] ?? this.history.newest(1)[0];
    return original ? this.#rtx(original) : undefined;
  }

  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.reports.stop();
    this.transport.remove(this);
  }
}
