import type { RtpPacket } from "werift";
import type { BandwidthEstimator } from "../congestion/bandwidth-estimator.ts";
import { type PacketPriority, Pacer } from "../congestion/pacer.ts";
import type { ProbeCluster } from "../congestion/probe.ts";
import { SendLog } from "../congestion/send-log.ts";
import { compactNtp, nowNs, ntpFromUnixNs } from "../rtp/ntp.ts";
import { ReferenceTimeReplies } from "../rtp/reference-time-replies.ts";
import { parseRtcpFeedback, type ReportBlock } from "../rtp/rtcp-feedback.ts";
import { tapRtcp } from "./rtcp-tap.ts";
import type { SenderPipeline } from "./sender-pipeline.ts";
import type { SenderInternals } from "./sender-internals.ts";
import { SendLatency } from "./send-latency.ts";
import { UdpRoute } from "./udp-route.ts";

/** Queued video older than this is dropped (and a keyframe asked for): live video, not a backlog. */
const STALE_MS = 400;
/** SRTP datagram overhead over the RTP payload: header, transport-cc extension, auth tag. */
const OVERHEAD_BYTES = 12 + 8 + 16;

export type KeyframeCause = "PLI" | "FIR" | "queue stale";

export interface SendTransportOptions {
  /** What the pacer paces for when no estimator drives it (relay viewers). */
  pacingTargetBps: number;
  /** Send-side bandwidth estimation; without it TWCC feedback is not logged or read. */
  estimator?: BandwidthEstimator;
  /** Monotonic milliseconds. */
  now?: () => number;
  /** A PLI or FIR for one of this transport's streams, or stale video dropped from the queue. */
  onKeyframeRequest?: (ssrc: number | undefined, cause: KeyframeCause) => void;
  /** The estimator's target moved (after a feedback or report). */
  onTarget?: (bps: number) => void;
  /** The first transport-wide sequence number (u16, wraps); tests start it near 2^16. */
  firstSequence?: number;
  /**
   * Drop video queued longer than STALE_MS and ask for a keyframe (default true): right for a
   * publisher, whose encoder makes a fresh IDR at once. A relay's viewer cannot have one of its
   * own: a drop is a sequence gap for that viewer and a PLI to the publisher for every viewer,
   * and what queued (a stall of the server's thread, not the path, at a fixed pacing rate far
   * above the stream's) leaves in a few milliseconds once the thread runs again.
   */
  dropStaleVideo?: boolean;
}

export interface TransportCounters {
  bytes: Record<PacketPriority, number>;
  packets: Record<PacketPriority, number>;
  pli: number;
  fir: number;
  staleDropped: number;
  feedbacks: number;
  /** Compound RTCP packets received from the endpoint (liveness reads it). */
  rtcp: number;
}

interface Outgoing {
  pipeline: SenderPipeline;
  packet: RtpPacket;
  priority: PacketPriority;
  probeCluster?: number;
  /** On a frame's last packet: when the frame was handed over, and when it was queued. */
  frame?: FrameTiming;
}

export interface FrameTiming {
  /** When the access unit was read from the encoder (0n: not measured, e.g. start-up frames). */
  receivedNs: bigint;
  queuedMs: number;
}

/**
 * Everything one DTLS transport's streams share on the way out (one per peer; BUNDLE puts audio,
 * video and RTX on it): the pacer, one transport-wide sequence counter for every packet
 * (draft-holmer-rmcat-transport-wide-cc-extensions-01 §2, audio, video and RTX alike), the send
 * log those numbers key, and the RTCP that drives the estimator. Packets are stamped, encrypted
 * and written only when the pacer releases them, so the logged send time is the real one.
 */
export class SendTransport {
  readonly pacer: Pacer<Outgoing>;
  readonly log = new SendLog();
  /** DLRR replies owed to receive-only peers (RFC 3611), sent with the next Sender Report. */
  readonly referenceTimes = new ReferenceTimeReplies();
  readonly counters: TransportCounters = {
    bytes: { audio: 0, retransmission: 0, video: 0, padding: 0 },
    packets: { audio: 0, retransmission: 0, video: 0, padding: 0 },
    pli: 0,
    fir: 0,
    staleDropped: 0,
    feedbacks: 0,
    rtcp: 0,
  };
  /** Per video frame: encoder output → last packet on the socket. */
  readonly handoff = new SendLatency();
  /** Per video frame: time its last packet waited in the pacer (100 µs bins, up to 1 s). */
  readonly pacing = new SendLatency(100_000, 10_000);
  readonly #pipelines = new Set<SenderPipeline>();
  readonly #now: () => number;
  #sequence = 1;
  #timer: ReturnType<typeof setTimeout> | undefined;
  #timerAt = Infinity;
  #route: UdpRoute | undefined;
  #tapped: object | undefined;
  #closed = false;
  #frameTimes: FrameTiming[] = [];
  /** Round trip from receiver reports (RFC 3550 §6.4.1), smoothed. */
  rttMs: number | undefined;

  constructor(readonly options: SendTransportOptions) {
    this.#now = options.now ?? (() => performance.now());
    this.pacer = new Pacer<Outgoing>(options.estimator?.targetBps ?? options.pacingTargetBps);
    if (options.firstSequence !== undefined) this.#sequence = options.firstSequence & 0xffff;
  }

  add(pipeline: SenderPipeline): void {
    this.#pipelines.add(pipeline);
  }

  remove(pipeline: SenderPipeline): void {
    this.#pipelines.delete(pipeline);
  }

  /** Queue one packet of `pipeline`'s. Audio leaves at once; the rest when the pacer says. */
  enqueue(pipeline: SenderPipeline, packet: RtpPacket, priority: PacketPriority, probeCluster?: number, notBeforeMs?: number, frame?: { receivedNs: bigint }): void {
    if (this.#closed) return;
    this.#tap(pipeline.sender);
    const now = this.#now();
    const out: Outgoing = { pipeline, packet, priority, ...(probeCluster !== undefined ? { probeCluster } : {}), ...(frame ? { frame: { receivedNs: frame.receivedNs, queuedMs: now } } : {}) };
    const immediate = this.pacer.push(out, packet.payload.length + OVERHEAD_BYTES, priority, now, notBeforeMs ?? now);
    if (immediate) this.#release([immediate], now);
    else this.#schedule(now, notBeforeMs ?? now);
  }

  /**
   * Send a probe cluster: padding spaced at the probe's rate, measured from its TWCC feedback.
   * Returns the packets queued (the estimator is told, so a short cluster is still judged).
   */
  probe(cluster: ProbeCluster): number {
    const video = [...this.#pipelines].find((p) => p.options.kind === "video" && p.ready);
    if (!video) return 0;
    const now = this.#now();
    let queued = 0;
    for (let i = 0; i < cluster.packets; i++) {
      const packet = video.probePacket(cluster.packetSize);
      if (!packet) break;
      const at = now + (i * (packet.payload.length + OVERHEAD_BYTES) * 8 * 1000) / cluster.targetBps;
      this.enqueue(video, packet, "padding", cluster.id, at);
      queued++;
    }
    return queued;
  }

  #schedule(now: number, atMs: number): void {
    const at = Math.max(atMs, now);
    if (this.#timer !== undefined && this.#timerAt <= at) return;
    clearTimeout(this.#timer);
    this.#timerAt = at;
    this.#timer = setTimeout(() => this.#flush(), Math.max(0, at - now));
  }

  #flush(): void {
    this.#timer = undefined;
    this.#timerAt = Infinity;
    if (this.#closed) return;
    const now = this.#now();
    const stale = this.options.dropStaleVideo === false ? [] : this.pacer.dropStale(now, STALE_MS);
    if (stale.some((o) => o.priority === "video")) {
      this.counters.staleDropped += stale.length;
      this.options.onKeyframeRequest?.(undefined, "queue stale");
    }
    const { send, nextMs } = this.pacer.poll(now);
    this.#release(send, now);
    if (nextMs !== undefined) this.#schedule(now, nextMs);
  }

  /** Stamp, encrypt and write released packets: one socket write for all of them. */
  #release(outs: Outgoing[], now: number): void {
    const datagrams: Buffer[] = [];
    let transport: NonNullable<SenderInternals["dtlsTransport"]> | undefined;
    for (const out of outs) {
      if (!out.pipeline.ready) continue;
      const dtls = out.pipeline.sender.dtlsTransport!;
      if (transport && dtls !== transport) {
        this.#write(transport, datagrams.splice(0));
      }
      transport = dtls;
      out.pipeline.number(out.packet, out.priority);
      const header = out.packet.header;
      const id = out.pipeline.transportCcId;
      let sequence: number | undefined;
      if (id !== undefined) {
        sequence = this.#sequence;
        this.#sequence = (sequence + 1) & 0xffff;
        const payload = Buffer.allocUnsafe(2);
        payload.writeUInt16BE(sequence);
        // The frame's own elements stay (SenderPipeline.send); a resent original drops the
        // transport-wide number it carried the first time: each send gets its own.
        const media = header.extensions;
        header.extensions = media.length === 0 ? [{ id, payload }] : [...media.filter((e) => e.id !== id), { id, payload }];
      }
      const datagram = dtls.srtp.encrypt(out.packet.payload, header);
      dtls.bytesSent += datagram.length;
      dtls.packetsSent++;
      if (sequence !== undefined && this.options.estimator) this.log.record(sequence, now, datagram.length, out.probeCluster);
      out.pipeline.onRelease(out.packet, out.priority);
      if (out.frame) this.#frameTimes.push(out.frame);
      this.counters.bytes[out.priority] += datagram.length;
      this.counters.packets[out.priority]++;
      datagrams.push(datagram);
    }
    if (transport && datagrams.length > 0) this.#write(transport, datagrams);
    // Measured once the socket has the datagrams (UdpRoute writes before it returns).
    if (this.#frameTimes.length > 0) {
      const ns = nowNs();
      // Live frames only: the start-up backlog (held while connecting) is not a pacing figure.
      for (const f of this.#frameTimes) {
        if (f.receivedNs === 0n) continue;
        this.handoff.add(Number(ns - f.receivedNs));
        this.pacing.add((now - f.queuedMs) * 1e6);
      }
      this.#frameTimes = [];
    }
  }

  #write(transport: NonNullable<SenderInternals["dtlsTransport"]>, datagrams: Buffer[]): void {
    const connection = transport.iceTransport.connection;
    if (this.#route?.connection !== connection) this.#route = new UdpRoute(connection);
    this.#route.send(datagrams);
  }

  /** Read every RTCP packet the transport decrypts (werift routes only some to senders). */
  #tap(sender: SenderInternals): void {
    const dtls = sender.dtlsTransport;
    if (!dtls || this.#tapped === dtls) return;
    if (tapRtcp(dtls, (rtcp) => this.#onRtcp(rtcp))) this.#tapped = dtls;
  }

  #onRtcp(compound: Uint8Array): void {
    if (this.#closed) return;
    this.counters.rtcp++;
    const now = this.#now();
    const estimator = this.options.estimator;
    const before = estimator?.targetBps;
    for (const item of parseRtcpFeedback(compound)) {
      switch (item.type) {
        case "twcc":
          this.counters.feedbacks++;
          if (estimator) estimator.onTransportFeedback(this.log.onFeedback(item.feedback), now);
          break;
        case "report":
          for (const block of item.blocks) {
            if (![...this.#pipelines].some((p) => p.ssrc === block.ssrc)) continue;
            const rtt = roundTripMs(block);
            if (rtt !== undefined) this.rttMs = this.rttMs === undefined ? rtt : 0.8 * this.rttMs + 0.2 * rtt;
            estimator?.onReceiverReport(block.fractionLost, rtt, now);
          }
          break;
        case "remb":
          estimator?.onRemb(item.bitrate, now);
          break;
        case "rrtr":
          this.referenceTimes.received(item.senderSsrc, item.ntp, nowNs());
          break;
        case "pli":
          this.counters.pli++;
          this.options.onKeyframeRequest?.(item.mediaSsrc, "PLI");
          break;
        case "fir":
          this.counters.fir++;
          this.options.onKeyframeRequest?.(item.ssrcs[0], "FIR");
          break;
        case "nack":
          break; // answered per stream (SenderPipeline), through werift's routing
      }
    }
    if (estimator) {
      this.pacer.setTarget(estimator.targetBps, estimator.targetBps >= estimator.options.maxBps * 0.98);
      if (estimator.targetBps !== before) this.options.onTarget?.(estimator.targetBps);
      const cluster = estimator.probe(now);
      if (cluster) estimator.probeSent(cluster.id, this.probe(cluster));
    }
  }

  /** After an outage (ICE restarted): nothing queued is still worth sending, nothing sent is news. */
  forgetInFlight(): void {
    this.log.forgetInFlight();
    this.pacer.clear();
  }

  close(): void {
    this.#closed = true;
    clearTimeout(this.#timer);
    this.pacer.clear();
  }
}

/**
 * Round trip from a report block (RFC 3550 §6.4.1): now − LSR − DLSR, in compact NTP. Our SRs
 * carry the capture clock's NTP time, which is this process's wall clock, so "now" is too.
 */
export function roundTripMs(block: ReportBlock, nowCompact = compactNtp(ntpFromUnixNs(nowNs()))): number | undefined {
  if (block.lastSr === 0) return undefined;
  const rtt = (nowCompact - block.lastSr - block.delaySinceLastSr) >>> 0;
  // A value near 2^32 is a negative round trip (clock steps): not a measurement.
  if (rtt > 65536 * 60) return undefined;
  return (rtt / 65536) * 1000;
}
