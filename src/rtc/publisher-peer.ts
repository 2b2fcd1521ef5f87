import { H264Packetizer, MediaStream, MediaStreamTrack, OpusPacketizer, RTCPeerConnection, type RTCRtpSender } from "werift";
import { historyCapacity } from "../rtp/packet-history.ts";
import type { RtpClock } from "../rtp/rtp-clock.ts";
import type { IceServer } from "../whip/link-header.ts";
import { whipCodecs } from "./codecs.ts";
import { NackResponder } from "./nack-responder.ts";
import { shapeWhipOffer } from "../whip/sdp.ts";
import { RtpWriter } from "./rtp-writer.ts";
import { internals } from "./sender-internals.ts";
import { CaptureClockSenderReports } from "./sender-reports.ts";
import { tuneUdpSockets } from "./udp-sockets.ts";

/**
 * The 1200-byte MTU: the largest RTP payload that, with the 12-byte RTP header, the MID header
 * extension and the 10-byte SRTP tag, keeps every packet within 1200 bytes — small enough for
 * any path, including TURN and VPN tunnels (the WebRTC default).
 */
export const MTU = 1200;
const MAX_PAYLOAD = MTU - 12 - 12 - 10;

/** Seconds of video the NACK history must cover at the configured bitrate (at least 1 s). */
const HISTORY_SECONDS = 2;

export interface PublisherPeerOptions {
  video: boolean;
  audio: boolean;
  videoBitrate: number;
  iceServers: IceServer[];
  loopbackCandidates: boolean;
}

type Connection = "new" | "connecting" | "connected" | "disconnected" | "failed" | "closed";

/** One sendonly werift peer: H.264 + RTX and Opus, max-bundle, rtcp-mux-only, one msid. */
export class PublisherPeer {
  readonly pc: RTCPeerConnection;
  readonly #video?: { sender: RTCRtpSender; writer: RtpWriter; packetizer: H264Packetizer; nack: NackResponder; reports: CaptureClockSenderReports };
  readonly #audio?: { sender: RTCRtpSender; writer: RtpWriter; packetizer: OpusPacketizer; reports: CaptureClockSenderReports };
  #clocks: { video: RtpClock; audio: RtpClock } | undefined;
  #closed = false;

  constructor(readonly options: PublisherPeerOptions) {
    this.pc = new RTCPeerConnection({
      bundlePolicy: "max-bundle",
      iceServers: options.iceServers,
      iceAdditionalHostAddresses: options.loopbackCandidates ? ["127.0.0.1"] : undefined,
      iceStunGatherTimeout: 2,
      codecs: whipCodecs(),
      headerExtensions: { video: [], audio: [] },
    });
    // One MediaStream for both tracks, so they share one msid (RFC 9725 §4.2) and are played in sync.
    const stream = new MediaStream();
    if (options.video) {
      const track = new MediaStreamTrack({ kind: "video" });
      stream.addTrack(track);
      const { sender } = this.pc.addTransceiver(track, { direction: "sendonly", streams: [stream] });
      const s = internals(sender);
      this.#video = {
        sender,
        writer: new RtpWriter(s),
        packetizer: new H264Packetizer({ inputFormat: "annexb", maxPayloadSize: MAX_PAYLOAD }),
        nack: new NackResponder(s, historyCapacity(options.videoBitrate, HISTORY_SECONDS, MAX_PAYLOAD)),
        reports: new CaptureClockSenderReports(s, () => this.#clocks?.video),
      };
    }
    if (options.audio) {
      const track = new MediaStreamTrack({ kind: "audio" });
      stream.addTrack(track);
      const { sender } = this.pc.addTransceiver(track, { direction: "sendonly", streams: [stream] });
      const s = internals(sender);
      this.#audio = {
        sender,
        writer: new RtpWriter(s),
        packetizer: new OpusPacketizer({ maxPayloadSize: MAX_PAYLOAD }),
        reports: new CaptureClockSenderReports(s, () => this.#clocks?.audio),
      };
    }
  }

  setClocks(clocks: { video: RtpClock; audio: RtpClock }): void {
    this.#clocks = clocks;
  }

  /** Offer with every candidate gathered (WHIP servers never trickle back; RFC 9725 §4.3.1). */
  async createOffer(): Promise<string> {
    const offer = await this.pc.createOffer();
    await this.pc.setLocalDescription(offer);
    tuneUdpSockets(this.pc);
    return shapeWhipOffer(this.pc.localDescription!.sdp);
  }

  async acceptAnswer(sdp: string): Promise<void> {
    await this.pc.setRemoteDescription({ type: "answer", sdp });
  }

  get connectionState(): Connection {
    return this.pc.connectionState;
  }

  onConnectionState(listener: (state: Connection) => void): void {
    this.pc.connectionStateChange.subscribe(listener);
  }

  /**
   * Packetize one access unit (RFC 6184 via werift) and send it. Resolves once every packet has
   * been handed to the socket (at once on the direct path).
   */
  async sendVideo(accessUnit: Uint8Array, rtpTimestamp: number): Promise<void> {
    const v = this.#video;
    if (!v || this.#closed) return;
    const packets = v.packetizer.packetize(Buffer.from(accessUnit.buffer, accessUnit.byteOffset, accessUnit.byteLength), rtpTimestamp);
    if (v.writer.direct) v.writer.write(packets);
    else for (const packet of packets) await v.sender.sendRtp(packet);
    for (const packet of packets) v.nack.recordSent(packet.header.sequenceNumber);
    v.reports.onPacketSent();
  }

  async sendAudio(opus: Uint8Array, rtpTimestamp: number): Promise<void> {
    const a = this.#audio;
    if (!a || this.#closed) return;
    const packets = a.packetizer.packetize(Buffer.from(opus.buffer, opus.byteOffset, opus.byteLength), rtpTimestamp);
    if (a.writer.direct) a.writer.write(packets);
    else for (const packet of packets) await a.sender.sendRtp(packet);
    a.reports.onPacketSent();
  }

  /** Packets resent in answer to NACKs. */
  get retransmitted(): number {
    return this.#video ? internals(this.#video.sender).retransmittedPacketsSent : 0;
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    this.#video?.reports.stop();
    this.#audio?.reports.stop();
    await this.pc.close().catch(() => {});
  }
}
