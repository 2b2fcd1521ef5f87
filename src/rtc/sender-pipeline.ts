import { GenericNack, type RtcpPacket, RtcpTransportLayerFeedback, type RtpPacket, wrapRtx } from "werift";
import { PacketHistory } from "../rtp/packet-history.ts";
import type { PacketPriority } from "../congestion/pacer.ts";
import type { SendTransport } from "./send-transport.ts";
import { type SenderInternals, WERIFT_RTP_CACHE_SIZE } from "./sender-internals.ts";
import { CaptureClockSenderReports } from "./sender-reports.ts";
import { nowNs } from "../rtp/ntp.ts";
import { ABS_CAPTURE_TIME_URI, encodeAbsCaptureTime, encodePlayoutDelay, PLAYOUT_DELAY_URI, type PlayoutDelay, TRANSPORT_CC_URI } from "../rtp/header-extensions.ts";

/** The ids the remote side gave the extensions whipcast writes (undefined: not taken). */
export interface ExtensionIds {
  transportCc: number | undefined;
  captureTime: number | undefined;
  playoutDelay: number | undefined;
}

/** What one frame (an access unit, an Opus packet, or a relayed packet of one) brings besides its packets. */
export interface FrameInfo {
  /** When it was handed over, for the per-frame latency figures (measured on its last packet). */
  receivedNs?: bigint;
  /** Its capture instant (Unix-epoch ns), for abs-capture-time. */
  captureNs?: bigint;
  /** A relayed abs-capture-time element, passed on untouched (the capturer's, not ours). */
  captureTime?: Uint8Array;
  /** A relayed playout-delay element, passed on untouched (the publisher's choice). */
  playoutDelay?: Uint8Array;
}

/**
 * Audio carries abs-capture-time once a second: a receiver extrapolates it between elements by
 * the RTP timestamp (libwebrtc's AbsoluteCaptureTimeInterpolator, up to 5 s), which is exact
 * here because the timestamps are computed from the same capture clock. Video carries it on
 * every frame: 17 bytes on the first packet of ~10 kB, and what a frame-accurate receiver
 * (requestVideoFrameCallback) reads.
 */
const AUDIO_CAPTURE_TIME_EVERY_NS = 1_000_000_000n;

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
  /** Video: the playout-delay to ask receivers for, on the first packet of every frame. */
  playoutDelay?: PlayoutDelay;
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
  /** The negotiated extension ids, looked up once per negotiated extension list. */
  #ids: { for: unknown; ids: ExtensionIds } | undefined;
  /** The playout-delay asked for, and its element. */
  #playoutDelay: { delay: PlayoutDelay; element: Buffer } | undefined;
  /** The RTP timestamp (before the sender's offset) of the last packet sent: a new one starts a frame. */
  #lastTimestamp: number | undefined;
  #lastCaptureTimeNs: bigint | undefined;

  constructor(
    readonly sender: SenderInternals,
    readonly transport: SendTransport,
    readonly options: SenderPipelineOptions,
  ) {
    this.history = new PacketHistory<RtpPacket>(Math.max(1, options.historyCapacity));
    this.reports = new CaptureClockSenderReports(sender, options.clock, nowNs, (now) => transport.referenceTimes.take(now));
    if (options.playoutDelay) this.setPlayoutDelay(options.playoutDelay);
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

  /** The playout-delay for frames from now on (video). */
  setPlayoutDelay(delay: PlayoutDelay): void {
    if (this.#playoutDelay?.delay === delay) return;
    this.#playoutDelay = { delay, element: encodePlayoutDelay(delay) };
  }

  /** The ids the remote side gave the extensions whipcast writes. */
  get extensionIds(): ExtensionIds {
    // Read for every packet released: the list only changes when werift renegotiates.
    const list = this.sender.headerExtensions;
    if (this.#ids?.for !== list) {
      const id = (uri: string) => list.find((e) => e.uri === uri)?.id;
      this.#ids = { for: list, ids: { transportCc: id(TRANSPORT_CC_URI), captureTime: id(ABS_CAPTURE_TIME_URI), playoutDelay: id(PLAYOUT_DELAY_URI) } };
    }
    return this.#ids.ids;
  }

  /** The id the remote side gave the transport-wide-cc extension, if it took it. */
  get transportCcId(): number | undefined {
    return this.extensionIds.transportCc;
  }

  /**
   * Queue packetized RTP (one access unit, or one Opus frame; for the relay, one packet), rewriting
   * each header in place as werift would, with the frame's own header extensions on the first
   * packet of each frame (the one libwebrtc reads a frame's playout delay from). The transport
   * adds transport-wide-cc as each packet leaves.
   */
  send(packets: RtpPacket[], frame: FrameInfo = {}): void {
    if (!this.ready) return;
    const s = this.sender;
    const priority: PacketPriority = this.options.kind === "audio" ? "audio" : "video";
    for (const packet of packets) {
      const header = packet.header;
      const starts = header.timestamp !== this.#lastTimestamp;
      this.#lastTimestamp = header.timestamp;
      header.extensions = starts ? this.#frameExtensions(frame) : [];
      header.ssrc = s.ssrc;
      header.payloadType = s.codec!.payloadType;
      header.timestamp = (header.timestamp + s.timestampOffset) >>> 0;
      header.sequenceNumber = (header.sequenceNumber + s.seqOffset) & 0xffff;
      s.timestamp = header.timestamp;
      s.sequenceNumber = header.sequenceNumber;
      s.rtpTimestamp = header.timestamp;
      const last = frame.receivedNs !== undefined && packet === packets[packets.length - 1];
      this.transport.enqueue(this, packet, priority, undefined, undefined, last ? { receivedNs: frame.receivedNs! } : undefined);
    }
  }

  #frameExtensions(frame: FrameInfo): { id: number; payload: Buffer }[] {
    const ids = this.extensionIds;
    const out: { id: number; payload: Buffer }[] = [];
    if (ids.captureTime !== undefined) {
      if (frame.captureTime) out.push({ id: ids.captureTime, payload: Buffer.from(frame.captureTime.buffer, frame.captureTime.byteOffset, frame.captureTime.byteLength) });
      else if (frame.captureNs !== undefined && this.#captureTimeDue(frame.captureNs)) out.push({ id: ids.captureTime, payload: encodeAbsCaptureTime(frame.captureNs) });
    }
    if (ids.playoutDelay !== undefined) {
      const relayed = frame.playoutDelay ? Buffer.from(frame.playoutDelay.buffer, frame.playoutDelay.byteOffset, frame.playoutDelay.byteLength) : undefined;
      const payload = relayed ?? this.#playoutDelay?.element;
      if (payload) out.push({ id: ids.playoutDelay, payload });
    }
    return out;
  }

  #captureTimeDue(captureNs: bigint): boolean {
    if (this.options.kind === "audio" && this.#lastCaptureTimeNs !== undefined && captureNs - this.#lastCaptureTimeNs < AUDIO_CAPTURE_TIME_EVERY_NS && captureNs >= this.#lastCaptureTimeNs) return false;
    this.#lastCaptureTimeNs = captureNs;
    return true;
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
