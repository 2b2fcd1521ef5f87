import type { IceServer } from "../whip/link-header.ts";
import { Answerer } from "./answerer.ts";
import { withRrtr } from "../whip/sdp.ts";
import type { MediaKind } from "./rtp-packet.ts";
import { SendTransport } from "./send-transport.ts";
import { SenderPipeline } from "./sender-pipeline.ts";
import { internals } from "./sender-internals.ts";

export interface SendingPeerOptions {
  /** What the pacer paces for (no estimator runs: a relay cannot change its source's rate). */
  pacingTargetBps: number;
  /** NACK history per video stream, in packets. */
  historyCapacity: number;
  /** The clock behind each kind's Sender Reports, once known. */
  clock(kind: MediaKind): { at(unixNs: bigint): number } | undefined;
  /** The remote side asked for a keyframe (PLI, FIR). */
  onKeyframeRequest(): void;
}

/**
 * The sending half of a relay session: a sendonly werift peer with one SenderPipeline per kind
 * it answered (paced, its own NACK history, capture-clock Sender Reports), sharing one
 * SendTransport. What to send, and when, is the caller's business.
 */
export class SendingPeer extends Answerer {
  protected tracks: Partial<Record<MediaKind, SenderPipeline>> = {};
  readonly #transport: SendTransport;

  constructor(
    iceServers: IceServer[],
    loopback: boolean,
    readonly sending: SendingPeerOptions,
  ) {
    super(iceServers, loopback);
    this.#transport = new SendTransport({ pacingTargetBps: sending.pacingTargetBps, onKeyframeRequest: () => sending.onKeyframeRequest(), dropStaleVideo: false });
  }

  /** RTCP compound packets received from the viewer so far (liveness reads it). */
  get rtcpReceived(): number {
    return this.#transport.counters.rtcp;
  }

  /** Answer, every kind `send` allows as sendonly, and set up its pipeline. */
  async acceptSending(offer: string, send: (kind: MediaKind) => boolean): Promise<string> {
    // The viewer is receive-only: offered rrtr, it sends reference time reports, and the DLRR
    // replies give it a round trip (Chromium then has each frame's captureTime).
    const sdp = withRrtr(await this.answer(offer, (kind) => (send(kind) ? "sendonly" : "inactive")));
    for (const t of this.pc.getTransceivers()) {
      if (t.direction !== "sendonly") continue;
      const kind = t.kind as MediaKind;
      this.tracks[kind] = new SenderPipeline(internals(t.sender), this.#transport, {
        kind,
        historyCapacity: kind === "video" ? this.sending.historyCapacity : 0,
        clock: () => this.sending.clock(kind),
      });
    }
    return sdp;
  }

  override async close(): Promise<void> {
    this.tracks.video?.close();
    this.tracks.audio?.close();
    this.#transport.close();
    await super.close();
  }
}
