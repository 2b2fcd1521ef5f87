import { H264Packetizer, MediaStream, MediaStreamTrack, OpusPacketizer, RTCPeerConnection, type RTCRtpSender } from "werift";
import { applyRemoteFragment, localFragment } from "./ice-restart.ts";
import type { IceFragment } from "../whip/sdpfrag.ts";
import { BandwidthEstimator } from "../congestion/bandwidth-estimator.ts";
import { historyCapacity } from "../rtp/packet-history.ts";
import type { RtpClock } from "../rtp/rtp-clock.ts";
import type { SessionConfig } from "../protocol.ts";
import type { IceServer } from "../whip/link-header.ts";
import { bundledHeaderExtensions, PLAYOUT_DELAY, PLAYOUT_DELAY_SMOOTH, whipCodecs } from "./codecs.ts";
import { type KeyframeCause, SendTransport } from "./send-transport.ts";
import { SenderPipeline } from "./sender-pipeline.ts";
import { internals } from "./sender-internals.ts";
import { shapeWhipOffer } from "../whip/sdp.ts";
import { detachHostSockets, tuneUdpSockets } from "./udp-sockets.ts";
import { nominatedSocketClosed } from "./path-activity.ts";

/**
 * The 1200-byte MTU: the largest RTP payload that, with the 12-byte RTP header, the header
 * extensions of a frame's first packet (transport-cc 3, abs-capture-time 17, playout-delay 4,
 * their 4-byte block header: 28) and the 16-byte AES-GCM tag, keeps every packet within 1200
 * bytes — small enough for any path, including TURN and VPN tunnels (the WebRTC default).
 */
export const MTU = 1200;
export const MAX_PAYLOAD = MTU - 12 - 28 - 16;

/** Seconds of video the NACK history must cover at the configured bitrate (at least 1 s). */
const HISTORY_SECONDS = 2;

/** The session's media settings (SessionConfig), the ICE servers of this attempt, and callbacks. */
export interface PublisherPeerOptions
  extends Pick<SessionConfig, "video" | "audio" | "videoBitrate" | "startVideoBitrate" | "audioBitrate" | "adapt" | "minVideoBitrate" | "loopbackCandidates" | "counterStart"> {
  iceServers: IceServer[];
  onKeyframeRequest?: (cause: KeyframeCause) => void;
  /** The estimate moved (bits per second, all streams). */
  onTarget?: (bps: number) => void;
}

type Connection = "new" | "connecting" | "connected" | "disconnected" | "failed" | "closed";

/**
 * One sendonly werift peer: H.264 + RTX and Opus, max-bundle, rtcp-mux-only, one msid, the
 * transport-wide-cc extension offered. Each track sends through its SenderPipeline; both share
 * one SendTransport (pacer, TWCC sequence, estimator).
 */
export class PublisherPeer {
  readonly pc: RTCPeerConnection;
  readonly transport: SendTransport;
  readonly estimator: BandwidthEstimator | undefined;
  readonly #video?: { sender: RTCRtpSender; pipeline: SenderPipeline; packetizer: H264Packetizer };
  readonly #audio?: { sender: RTCRtpSender; pipeline: SenderPipeline; packetizer: OpusPacketizer };
  #clocks: { video: RtpClock; audio: RtpClock } | undefined;
  #closed = false;

  constructor(readonly options: PublisherPeerOptions) {
    this.pc = new RTCPeerConnection({
      bundlePolicy: "max-bundle",
      iceServers: options.iceServers,
      iceAdditionalHostAddresses: options.loopbackCandidates ? ["127.0.0.1"] : undefined,
      iceStunGatherTimeout: 2,
      codecs: whipCodecs(),
      headerExtensions: bundledHeaderExtensions(),
    });
    const audioBps = options.audio ? options.audioBitrate : 0;
    // The estimate covers everything on the wire: video, audio and packet overhead.
    this.estimator = options.adapt
      ? new BandwidthEstimator({ minBps: options.minVideoBitrate + audioBps, maxBps: overhead(options.videoBitrate + audioBps), startBps: overhead(options.startVideoBitrate + audioBps) })
      : undefined;
    const start = options.counterStart;
    // Both streams are numbered as they leave, from the same starting counts when given.
    const numbering = {
      numberOnRelease: true,
      ...(start ? { counts: { packets: start.packets, octets: start.octets } } : {}),
      ...(start?.rtpSequence !== undefined ? { firstSequence: start.rtpSequence & 0xffff } : {}),
    };
    this.transport = new SendTransport({
      pacingTargetBps: overhead(options.videoBitrate + audioBps),
      ...(start ? { firstSequence: start.transportSequence } : {}),
      ...(this.estimator ? { estimator: this.estimator } : {}),
      onTarget: (bps) => {
        this.#video?.pipeline.setPlayoutDelay(this.#playoutDelay(bps));
        options.onTarget?.(bps);
      },
      onKeyframeRequest: (ssrc, cause) => {
        if (ssrc === undefined || ssrc === this.#video?.pipeline.ssrc || cause === "FIR") options.onKeyframeRequest?.(cause);
      },
    });
    // One MediaStream for both tracks, so they share one msid (RFC 9725 §4.2) and are played in sync.
    const stream = new MediaStream();
    if (options.video) {
      const track = new MediaStreamTrack({ kind: "video" });
      stream.addTrack(track);
      const { sender } = this.pc.addTransceiver(track, { direction: "sendonly", streams: [stream] });
      this.#video = {
        sender,
        packetizer: new H264Packetizer({ inputFormat: "annexb", maxPayloadSize: MAX_PAYLOAD }),
        pipeline: new SenderPipeline(internals(sender), this.transport, {
          kind: "video",
          historyCapacity: historyCapacity(options.videoBitrate, HISTORY_SECONDS, MAX_PAYLOAD),
          clock: () => this.#clocks?.video,
          playoutDelay: this.#playoutDelay(this.estimator?.targetBps),
          ...numbering,
        }),
      };
    }
    if (options.audio) {
      const track = new MediaStreamTrack({ kind: "audio" });
      stream.addTrack(track);
      const { sender } = this.pc.addTransceiver(track, { direction: "sendonly", streams: [stream] });
      this.#audio = {
        sender,
        packetizer: new OpusPacketizer({ maxPayloadSize: MAX_PAYLOAD }),
        pipeline: new SenderPipeline(internals(sender), this.transport, { kind: "audio", historyCapacity: 0, clock: () => this.#clocks?.audio, ...numbering }),
      };
    }
  }

  /**
   * The playout-delay to ask for at estimate `bps` (see PLAYOUT_DELAY): render at once only for
   * video alone at the ceiling, where the path is clear. Below it the path is not known to be
   * clear (with --no-adapt it never is); with audio, lip sync comes first.
   */
  #playoutDelay(bps: number | undefined): typeof PLAYOUT_DELAY {
    const clear = !this.options.audio && this.estimator !== undefined && bps !== undefined && bps >= this.estimator.options.maxBps * 0.95;
    return clear ? PLAYOUT_DELAY : PLAYOUT_DELAY_SMOOTH;
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

  /** Packetize one access unit (RFC 6184 via werift) and queue it on the video pipeline. */
  sendVideo(accessUnit: Uint8Array, rtpTimestamp: number, captureNs: bigint, receivedNs = 0n): void {
    const v = this.#video;
    if (!v || this.#closed) return;
    v.pipeline.send(v.packetizer.packetize(Buffer.from(accessUnit.buffer, accessUnit.byteOffset, accessUnit.byteLength), rtpTimestamp), { receivedNs, captureNs });
  }

  sendAudio(opus: Uint8Array, rtpTimestamp: number, captureNs: bigint): void {
    const a = this.#audio;
    if (!a || this.#closed) return;
    a.pipeline.send(a.packetizer.packetize(Buffer.from(opus.buffer, opus.byteOffset, opus.byteLength), rtpTimestamp), { captureNs });
  }

  /**
   * ICE restart as the controlling agent (RFC 8445 §9), DTLS and SRTP untouched: new local
   * credentials, fresh sockets on the interfaces as they are now (a blocked or rebound port, or
   * an address that went away, must not outlive the restart), `exchange` sends our sdpfrag and
   * returns the endpoint's, then connectivity checks run for the new generation (see
   * ice-restart.ts). Resolves once a new pair is nominated; rejects when the checks fail (the
   * endpoint's end-of-candidates makes them fail rather than wait). What was sent into the
   * outage is then forgotten, so the estimate is not cut for it (SendLog.forgetInFlight).
   */
  async restartIce(exchange: (offerFrag: string) => Promise<IceFragment & { ufrag: string; pwd: string }>): Promise<void> {
    const ice = this.pc.iceTransports[0];
    if (!ice || this.#closed) throw new Error("no ICE transport to restart");
    const closeStale = detachHostSockets(this.pc);
    ice.restart();
    await ice.gather();
    void closeStale();
    tuneUdpSockets(this.pc);
    const answer = await exchange(localFragment(ice, this.pc.getTransceivers()[0]?.mid ?? "0"));
    await applyRemoteFragment(ice, answer, true);
    await ice.start();
    if (nominatedSocketClosed(this.pc)) throw new Error("the checks settled on a socket of an earlier attempt");
    this.transport.forgetInFlight();
  }

  /** Packets resent in answer to NACKs. */
  get retransmitted(): number {
    return this.transport.counters.packets.retransmission;
  }

  /** NACKs received for video. */
  get nacks(): number {
    return this.#video?.pipeline.sender.nackCount ?? 0;
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    this.#video?.pipeline.close();
    this.#audio?.pipeline.close();
    this.transport.close();
    await this.pc.close().catch(() => {});
  }
}

/** Bits on the wire for a media rate: RTP, extension and SRTP overhead on ~1 kB packets. */
export function overhead(mediaBps: number): number {
  return Math.round(mediaBps * 1.05);
}
