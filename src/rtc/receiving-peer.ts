import { RtcpSrPacket } from "werift";
import { ABS_CAPTURE_TIME_URI, PLAYOUT_DELAY_URI } from "../rtp/header-extensions.ts";
import type { IceServer } from "../whip/link-header.ts";
import { Answerer } from "./answerer.ts";
import type { MediaKind, RtpPacket } from "./rtp-packet.ts";
import { TwccResponder } from "./twcc-responder.ts";

/** The sender's timing elements on one packet, raw, for the relay to pass on untouched. */
export interface TimingElements {
  captureTime?: Uint8Array;
  playoutDelay?: Uint8Array;
}

/**
 * The receiving half of a relay session: a recvonly werift peer that hands on each RTP packet
 * and each Sender Report by kind, sends TWCC feedback (so the publisher adapts to the path into
 * the server) and asks for keyframes. What the packets mean is the caller's business.
 */
export class ReceivingPeer extends Answerer {
  readonly kinds = new Set<MediaKind>();
  /** RTP packets received so far (liveness reads it). */
  packetsReceived = 0;
  readonly #twcc: TwccResponder;

  constructor(
    iceServers: IceServer[],
    loopback: boolean,
    readonly events: {
      /** `timing`: the packet's abs-capture-time and playout-delay elements, where the sender wrote them. */
      packet(kind: MediaKind, packet: RtpPacket, timing: TimingElements): void;
      /** A Sender Report (RFC 3550 §6.4.1): NTP time and the RTP time of the same instant. */
      senderReport(kind: MediaKind, ntp: bigint, rtp: number): void;
    },
  ) {
    super(iceServers, loopback);
    this.#twcc = new TwccResponder(this.pc, (Math.random() * 2 ** 32) >>> 0);
    this.onConnectionState((state) => {
      if (state === "connected") this.#twcc.start();
    });
    this.pc.onTrack.subscribe((track) => {
      const kind = track.kind as MediaKind;
      this.kinds.add(kind);
      track.onReceiveRtp.subscribe((packet) => {
        this.packetsReceived++;
        const ids = this.#timingIds();
        const timing: TimingElements = {};
        for (const e of packet.header.extensions) {
          const uri = ids.get(e.id);
          if (uri === ABS_CAPTURE_TIME_URI) timing.captureTime = e.payload;
          else if (uri === PLAYOUT_DELAY_URI) timing.playoutDelay = e.payload;
        }
        events.packet(kind, packet, timing);
      });
    });
    this.pc.onTransceiverAdded.subscribe((transceiver) => {
      transceiver.receiver.onRtcp.subscribe((packet) => {
        if (packet.type !== RtcpSrPacket.type) return;
        const sr = packet as RtcpSrPacket;
        events.senderReport(transceiver.kind as MediaKind, sr.senderInfo.ntpTimestamp, sr.senderInfo.rtpTimestamp);
      });
    });
  }

  #timing: { for: unknown; ids: Map<number, string> } | undefined;

  /** Which ids the sender's timing extensions have (each m-section may number them apart), per negotiation. */
  #timingIds(): Map<number, string> {
    const map = (this.pc as unknown as { router: { extIdUriMap: Record<number, string> } }).router.extIdUriMap;
    if (this.#timing?.for !== map) {
      const ids = new Map<number, string>();
      for (const [id, uri] of Object.entries(map)) if (uri === ABS_CAPTURE_TIME_URI || uri === PLAYOUT_DELAY_URI) ids.set(Number(id), uri);
      this.#timing = { for: map, ids };
    }
    return this.#timing.ids;
  }

  async accept(offer: string): Promise<string> {
    return this.answer(offer, () => "recvonly");
  }

  /** Ask the sender of `ssrc` for a keyframe (PLI, RFC 4585 §6.3.1). */
  requestPictureLoss(ssrc: number): void {
    const receiver = this.pc.getTransceivers().find((t) => t.kind === "video")?.receiver;
    void receiver?.sendRtcpPLI(ssrc).catch(() => {});
  }

  override async close(): Promise<void> {
    this.#twcc.stop();
    await super.close();
  }
}
