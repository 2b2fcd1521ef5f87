import { AUDIO_CLOCK_RATE, VIDEO_CLOCK_RATE } from "../rtp/rtp-clock.ts";
import { ReportClock } from "../rtp/report-clock.ts";
import { ReceivingPeer, type TimingElements } from "../rtc/receiving-peer.ts";
import type { MediaKind, RtpPacket } from "../rtc/rtp-packet.ts";
import type { IceServer } from "../whip/link-header.ts";
import { KeyframeCache, startsKeyframe } from "./keyframe-cache.ts";
import { RecentSequences } from "./recent-sequences.ts";

/** Keyframe requests forwarded to the publisher at most this often (viewers PLI in bursts). */
const PLI_INTERVAL_MS = 500;

export type { MediaKind };

export interface PublicationListener {
  /** `timing`: the publisher's abs-capture-time and playout-delay elements, for viewers to receive untouched. */
  onPacket(kind: MediaKind, packet: RtpPacket, timing: TimingElements): void;
}

/**
 * One publisher's WHIP session on the relay: a recvonly peer whose packets fan out to the
 * stream's viewers unchanged (no transcoding). Keeps the latest keyframe group for viewers that
 * join mid-stream, and the publisher's Sender Reports so viewers keep lip sync.
 */
export class Publication extends ReceivingPeer {
  readonly cache: KeyframeCache<RtpPacket>;
  readonly clocks = { video: new ReportClock(VIDEO_CLOCK_RATE), audio: new ReportClock(AUDIO_CLOCK_RATE) };
  #listeners = new Set<PublicationListener>();
  #videoSsrc: number | undefined;
  #lastPli = 0;
  readonly startedAt = Date.now();
  /** Video sequence numbers already forwarded: probe padding and late RTX repeat them. */
  readonly #seen = new RecentSequences(2048);

  constructor(iceServers: IceServer[], loopback: boolean, cacheBytes: number) {
    super(iceServers, loopback, {
      packet: (kind, packet, timing) => this.#packet(kind, packet, timing),
      senderReport: (kind, ntp, rtp) => this.clocks[kind]?.update(ntp, rtp),
    });
    this.cache = new KeyframeCache<RtpPacket>(cacheBytes);
  }

  #packet(kind: MediaKind, packet: RtpPacket, timing: TimingElements): void {
    // Header extensions were negotiated with the publisher; each viewer negotiates its own.
    packet.header.extensions = [];
    if (kind === "video") {
      if (this.#seen.has(packet.header.sequenceNumber)) return;
      this.#seen.add(packet.header.sequenceNumber);
      this.#videoSsrc = packet.header.ssrc;
      this.cache.push(packet, packet.header.timestamp, packet.payload.length, startsKeyframe(packet.payload));
    }
    for (const l of this.#listeners) l.onPacket(kind, packet, timing);
  }

  /** After an ICE restart the cached group is from before the outage: viewers wait for the fresh IDR. */
  override async restartIce(frag: Parameters<ReceivingPeer["restartIce"]>[0]): Promise<string> {
    this.cache.clear();
    return super.restartIce(frag);
  }

  subscribe(listener: PublicationListener): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  /** A viewer lost a picture it cannot repair: ask the publisher for a keyframe (RFC 4585 §6.3.1). */
  requestKeyframe(now = Date.now()): void {
    if (this.#videoSsrc === undefined || now - this.#lastPli < PLI_INTERVAL_MS) return;
    this.#lastPli = now;
    this.requestPictureLoss(this.#videoSsrc);
  }
}
