import type { RTCRtpSender, RtpPacket } from "werift";
import { historyCapacity } from "../rtp/packet-history.ts";
import { NackResponder } from "../webrtc/nack-responder.ts";
import { internals } from "../webrtc/sender-internals.ts";
import { CaptureClockSenderReports } from "../webrtc/sender-reports.ts";
import type { IceServer } from "../whip/link-header.ts";
import { Answerer } from "./answerer.ts";
import { squeezedTimestamps, startsKeyframe } from "./keyframe-cache.ts";
import type { MediaKind, Publication } from "./publication.ts";

/** NACK history per viewer: 2 s at up to 8 Mbit/s of 1200-byte packets. */
const HISTORY = historyCapacity(8_000_000, 2, 1166);

interface Track {
  sender: RTCRtpSender;
  reports: CaptureClockSenderReports;
  nack?: NackResponder;
}

/**
 * One WHEP viewer: a sendonly peer fed the publication's packets. Video starts with the cached
 * keyframe group (so the first decoded frame comes at once), then live. NACKs are answered from
 * this viewer's own sent history; PLIs go to the publisher. Sender Reports are re-issued from the
 * publisher's, so audio and video stay in sync.
 */
export class Viewer extends Answerer {
  #tracks: Partial<Record<MediaKind, Track>> = {};
  #videoLive = false;
  #unsubscribe: (() => void) | undefined;

  constructor(
    readonly publication: Publication,
    iceServers: IceServer[],
    loopback: boolean,
  ) {
    super(iceServers, loopback);
  }

  async accept(offer: string): Promise<string> {
    const sdp = await this.answer(offer, (kind) => (this.publication.kinds.size === 0 || this.publication.kinds.has(kind) ? "sendonly" : "inactive"));
    for (const t of this.pc.getTransceivers()) {
      if (t.direction !== "sendonly") continue;
      const kind = t.kind as MediaKind;
      const s = internals(t.sender);
      const track: Track = { sender: t.sender, reports: new CaptureClockSenderReports(s, () => (this.publication.clocks[kind].known ? this.publication.clocks[kind] : undefined)) };
      if (kind === "video") {
        track.nack = new NackResponder(s, HISTORY);
        t.sender.onPictureLossIndication.subscribe(() => this.publication.requestKeyframe());
      }
      this.#tracks[kind] = track;
    }
    this.onConnectionState((state) => {
      if (state === "connected" && !this.#unsubscribe) this.#start();
    });
    return sdp;
  }

  #start(): void {
    const video = this.#tracks.video;
    if (video) {
      const group = this.publication.cache.snapshot();
      const stamps = squeezedTimestamps(group.map((g) => g.timestamp));
      group.forEach(({ packet }, i) => {
        const p = packet.clone();
        p.header.timestamp = stamps[i]!;
        this.#send(video, p);
      });
      // With nothing cached yet the next keyframe starts the picture; ask for it now.
      if (group.length === 0) this.publication.requestKeyframe();
      this.#videoLive = group.length > 0;
    }
    this.#unsubscribe = this.publication.subscribe({
      onPacket: (kind, packet) => {
        const track = this.#tracks[kind];
        if (!track) return;
        if (kind === "video" && !this.#videoLive) {
          if (!startsKeyframe(packet.payload)) return;
          this.#videoLive = true;
        }
        this.#send(track, packet);
      },
    });
  }

  /** werift sends synchronously up to the socket write, so the packet is in its cache on return. */
  #send(track: Track, packet: RtpPacket): void {
    void track.sender.sendRtp(packet).catch(() => {});
    track.nack?.recordSent(packet.header.sequenceNumber);
    track.reports.onPacketSent();
  }

  override async close(): Promise<void> {
    this.#unsubscribe?.();
    this.#tracks.video?.reports.stop();
    this.#tracks.audio?.reports.stop();
    await super.close();
  }
}
