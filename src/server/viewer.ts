import { historyCapacity } from "../rtp/packet-history.ts";
import { VIDEO_CLOCK_RATE } from "../rtp/rtp-clock.ts";
import type { RtpPacket } from "../rtc/rtp-packet.ts";
import type { TimingElements } from "../rtc/receiving-peer.ts";
import type { SenderPipeline } from "../rtc/sender-pipeline.ts";
import { SendingPeer } from "../rtc/sending-peer.ts";
import type { IceServer } from "../whip/link-header.ts";
import { replayTimestamps, startsKeyframe } from "./keyframe-cache.ts";
import type { MediaKind, Publication } from "./publication.ts";

/** NACK history per viewer: 2 s at up to 8 Mbit/s of 1200-byte packets. */
const HISTORY = historyCapacity(8_000_000, 2, 1166);

/**
 * A joining viewer is sent the cached group one frame every 2 ms, stamped 2 ms apart
 * (keyframe-cache.ts, replayTimestamps): a 2 s group at 30 fps takes 120 ms. Measured on a loaded
 * 2-core machine, a one-burst replay froze the viewer in 4 of 8 joins; this spacing in 0 of 8,
 * with the same first-frame time and the same receive-to-display delay afterwards.
 */
const REPLAY_SPACING_MS = 2;

/**
 * A viewer's packets are paced as for a 20 Mbit/s target (50 Mbit/s out): a keyframe leaves over
 * a few milliseconds instead of in one burst, and a 2 s group still replays within its 2 ms
 * spacing. The relay cannot change the publisher's rate for one viewer, so no estimator runs.
 */
const VIEWER_PACING_TARGET_BPS = 20_000_000;

/**
 * One WHEP viewer: a sendonly peer fed the publication's packets. Video starts with the cached
 * keyframe group, replayed fast (so the first decoded frame comes at once), then live. NACKs
 * are answered from this viewer's own sent history; PLIs go to the publisher. Sender Reports are
 * re-issued from the publisher's, so audio and video stay in sync.
 */
export class Viewer extends SendingPeer {
  #publication: Publication;
  #videoLive = false;
  /**
   * Per kind: added to the publication's sequence numbers (mod 2^16). 0 for the first
   * publication; after a republish, it carries on from the last number this viewer sent, so
   * the receiver sees one continuous stream, not a jump it would NACK or reset on.
   */
  readonly #seqShift: Record<MediaKind, number | undefined> = { audio: 0, video: 0 };
  readonly #lastSeq: Partial<Record<MediaKind, number>> = {};
  #unsubscribe: (() => void) | undefined;
  /** Live video held while the cached group is replayed. */
  #replaying: RtpPacket[] | undefined;
  #replayTimer: ReturnType<typeof setTimeout> | undefined;

  constructor(publication: Publication, iceServers: IceServer[], loopback: boolean) {
    super(iceServers, loopback, {
      pacingTargetBps: VIEWER_PACING_TARGET_BPS,
      historyCapacity: HISTORY,
      clock: (kind) => (this.#publication.clocks[kind].known ? this.#publication.clocks[kind] : undefined),
      // PLI and FIR from the viewer go to the publisher (the relay never encodes).
      onKeyframeRequest: () => this.#publication.requestKeyframe(),
    });
    this.#publication = publication;
  }

  /**
   * The stream's publisher came back (a new WHIP session under the same name): carry on from
   * it. Video waits for its next keyframe (asked for now); sequence numbers continue this
   * viewer's own, and Sender Reports follow the new publisher's clocks.
   */
  follow(publication: Publication): void {
    if (publication === this.#publication) return;
    this.#unsubscribe?.();
    this.#unsubscribe = undefined;
    clearTimeout(this.#replayTimer);
    this.#replaying = undefined;
    this.#publication = publication;
    this.#seqShift.audio = undefined;
    this.#seqShift.video = undefined;
    if (this.connectionState === "connected") {
      this.#videoLive = false;
      this.#subscribe();
      publication.requestKeyframe();
    }
  }

  async accept(offer: string): Promise<string> {
    const sdp = await this.acceptSending(offer, (kind) => this.#publication.kinds.size === 0 || this.#publication.kinds.has(kind));
    this.onConnectionState((state) => {
      if (state === "connected" && !this.#unsubscribe) this.#start();
    });
    return sdp;
  }

  #start(): void {
    const video = this.tracks.video;
    if (video) {
      const group = this.#publication.cache.snapshot();
      if (group.length > 0) this.#replay(video, group);
      // With nothing cached yet the next keyframe starts the picture; ask for it now.
      else this.#publication.requestKeyframe();
      this.#videoLive = group.length > 0;
    }
    this.#subscribe();
  }

  #subscribe(): void {
    this.#unsubscribe = this.#publication.subscribe({
      onPacket: (kind, packet, timing) => {
        const track = this.tracks[kind];
        if (!track) return;
        if (kind === "video" && !this.#videoLive) {
          if (!startsKeyframe(packet.payload)) return;
          this.#videoLive = true;
        }
        // Live video waits behind the cached group, in order; audio goes at once.
        if (kind === "video" && this.#replaying) this.#replaying.push(packet);
        else this.#send(track, packet, false, timing);
      },
    });
  }

  /** The cached group, paced and re-stamped; then the live video that arrived meanwhile. */
  #replay(video: SenderPipeline, group: { packet: RtpPacket; timestamp: number }[]): void {
    const plan = replayTimestamps(
      group.map((g) => g.timestamp),
      (REPLAY_SPACING_MS * VIDEO_CLOCK_RATE) / 1000,
    );
    const frames: RtpPacket[][] = Array.from({ length: plan.frames }, () => []);
    group.forEach(({ packet }, i) => {
      const p = packet.clone();
      const { timestamp, frame } = plan.packets[i]!;
      p.header.timestamp = timestamp;
      frames[frame]!.push(p);
    });
    const queued: RtpPacket[] = [];
    this.#replaying = queued;
    const start = performance.now();
    let next = 0;
    const step = () => {
      this.#replayTimer = undefined;
      // A late timer sends every frame that is due, so the replay never falls behind its stamps.
      while (next < frames.length && performance.now() - start >= next * REPLAY_SPACING_MS) for (const p of frames[next++]!) this.#send(video, p, true);
      if (next < frames.length) {
        this.#replayTimer = setTimeout(step, Math.max(0, start + next * REPLAY_SPACING_MS - performance.now()));
        return;
      }
      this.#replaying = undefined;
      for (const p of queued) this.#send(video, p);
    };
    step();
  }

  /**
   * The publication's packet is shared by every viewer: each sends its own copy, whose header
   * its pipeline rewrites (SSRC, payload type, transport-wide sequence number).
   */
  #send(track: SenderPipeline, packet: RtpPacket, owned = false, timing: TimingElements = {}): void {
    const p = owned ? packet : packet.clone();
    const kind = track.options.kind;
    const last = this.#lastSeq[kind];
    this.#seqShift[kind] ??= last === undefined ? 0 : (last + 1 - p.header.sequenceNumber) & 0xffff;
    p.header.sequenceNumber = (p.header.sequenceNumber + this.#seqShift[kind]!) & 0xffff;
    this.#lastSeq[kind] = p.header.sequenceNumber;
    // The publisher's abs-capture-time (its clock offset too) and playout-delay go on
    // untouched: viewers measure glass to glass from the publisher's capture, through the
    // relay, and render as the publisher asked (it knows whether its path is clear).
    track.send([p], timing);
  }

  override async close(): Promise<void> {
    // No step runs after this, so neither the rest of the group nor the held live video is sent.
    clearTimeout(this.#replayTimer);
    this.#unsubscribe?.();
    await super.close();
  }
}
