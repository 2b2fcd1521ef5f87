import { RtcpSrPacket, type RtpPacket } from "werift";
import { AUDIO_CLOCK_RATE, VIDEO_CLOCK_RATE } from "../rtp/rtp-clock.ts";
import { ReportClock } from "../rtp/report-clock.ts";
import type { IceServer } from "../whip/link-header.ts";
import { Answerer } from "../rtc/answerer.ts";
import { TwccResponder } from "../rtc/twcc-responder.ts";
import { RecentSequences } from "./recent-sequences.ts";
import { KeyframeCache, startsKeyframe } from "./keyframe-cache.ts";

/** Keyframe requests forwarded to the publisher at most this often (viewers PLI in bursts). */
const PLI_INTERVAL_MS = 500;

export type MediaKind = "audio" | "video";

export interface PublicationListener {
  onPacket(kind: MediaKind, packet: RtpPacket): void;
}

/**
 * One publisher's WHIP session on the relay: a recvonly peer whose packets fan out to the
 * stream's viewers unchanged (no transcoding). Keeps the latest keyframe group for viewers that
 * join mid-stream, and the publisher's Sender Reports so viewers keep lip sync.
 */
export class Publication extends Answerer {
  readonly cache: KeyframeCache<RtpPacket>;
  readonly clocks = { video: new ReportClock(VIDEO_CLOCK_RATE), audio: new ReportClock(AUDIO_CLOCK_RATE) };
  readonly kinds = new Set<MediaKind>();
  #listeners = new Set<PublicationListener>();
  #videoSsrc: number | undefined;
  #lastPli = 0;
  readonly startedAt = Date.now();
  readonly #twcc: TwccResponder;
  /** Video sequence numbers already forwarded: probe padding and late RTX repeat them. */
  readonly #seen = new RecentSequences(2048);

  constructor(iceServers: IceServer[], loopback: boolean, cacheBytes: number) {
    super(iceServers, loopback);
    this.cache = new KeyframeCache<RtpPacket>(cacheBytes);
    // The publisher adapts to the path into this server from this feedback.
    this.#twcc = new TwccResponder(this.pc, (Math.random() * 2 ** 32) >>> 0);
    this.onConnectionState((state) => {
      if (state === "connected") this.#twcc.start();
    });
    this.pc.onTrack.subscribe((track) => {
      const kind = track.kind as MediaKind;
      this.kinds.add(kind);
      track.onReceiveRtp.subscribe((packet) => this.#packet(kind, packet));
    });
    this.pc.onTransceiverAdded.subscribe((transceiver) => {
      transceiver.receiver.onRtcp.subscribe((packet) => {
        if (packet.type !== RtcpSrPacket.type) return;
        const sr = packet as RtcpSrPacket;
        const kind = transceiver.kind as MediaKind;
        this.clocks[kind]?.update(sr.senderInfo.ntpTimestamp, sr.senderInfo.rtpTimestamp);
      });
    });
  }

  async accept(offer: string): Promise<string> {
    return this.answer(offer, () => "recvonly");
  }

  #packet(kind: MediaKind, packet: RtpPacket): void {
    // Header extensions were negotiated with the publisher; each viewer negotiates its own.
    packet.header.extensions = [];
    if (kind === "video") {
      if (this.#seen.has(packet.header.sequenceNumber)) return;
      this.#seen.add(packet.header.sequenceNumber);
      this.#videoSsrc = packet.header.ssrc;
      this.cache.push(packet, packet.header.timestamp, packet.payload.length, startsKeyframe(packet.payload));
    }
    for (const l of this.#listeners) l.onPacket(kind, packet);
  }

  subscribe(listener: PublicationListener): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  override async close(): Promise<void> {
    this.#twcc.stop();
    await super.close();
  }

  /** A viewer lost a picture it cannot repair: ask the publisher for a keyframe (RFC 4585 §6.3.1). */
  requestKeyframe(now = Date.now()): void {
    if (this.#videoSsrc === undefined || now - this.#lastPli < PLI_INTERVAL_MS) return;
    this.#lastPli = now;
    const receiver = this.pc.getTransceivers().find((t) => t.kind === "video")?.receiver;
    void receiver?.sendRtcpPLI(this.#videoSsrc).catch(() => {});
  }
}
