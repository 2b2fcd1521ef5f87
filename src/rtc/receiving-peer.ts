import { RtcpSrPacket } from "werift";
import type { IceServer } from "../whip/link-header.ts";
import { Answerer } from "./answerer.ts";
import type { MediaKind, RtpPacket } from "./rtp-packet.ts";
import { TwccResponder } from "./twcc-responder.ts";

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
      packet(kind: MediaKind, packet: RtpPacket): void;
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
        events.packet(kind, packet);
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
