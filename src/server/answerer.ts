import { RTCPeerConnection } from "werift";
import type { IceServer } from "../whip/link-header.ts";
import type { IceFragment } from "../whip/sdpfrag.ts";
import { HttpError } from "./http-error.ts";
import { offerProblem, relayPeerConfig } from "./peer-config.ts";

export type Connection = "new" | "connecting" | "connected" | "disconnected" | "failed" | "closed";

/**
 * The server half of one WHIP or WHEP session: a werift peer that answers the client's offer
 * and takes its trickled candidates (RFC 9725 §4.4). Publications and viewers build on it.
 */
export class Answerer {
  readonly pc: RTCPeerConnection;
  #closed = false;

  constructor(iceServers: IceServer[], loopback: boolean) {
    this.pc = new RTCPeerConnection(relayPeerConfig(iceServers, loopback));
  }

  /**
   * Answer an offer, every transceiver set to `direction` for the kinds the relay carries and
   * inactive for the rest. Throws HttpError 400 for an offer werift cannot take.
   */
  async answer(offer: string, direction: (kind: "audio" | "video") => "recvonly" | "sendonly" | "inactive"): Promise<string> {
    const problem = offerProblem(offer);
    if (problem) throw new HttpError(400, "Malformed SDP offer", `the offer is not usable SDP: ${problem}`);
    try {
      await this.pc.setRemoteDescription({ type: "offer", sdp: offer });
    } catch (error) {
      throw new HttpError(400, "Malformed SDP offer", `the offer was rejected: ${oneLine(error)}`);
    }
    const transceivers = this.pc.getTransceivers();
    for (const t of transceivers) t.setDirection(t.codecs.length > 0 ? direction(t.kind as "audio" | "video") : "inactive");
    if (!transceivers.some((t) => t.codecs.length > 0)) {
      throw new HttpError(400, "No usable media", "the offer has neither H.264 (packetization-mode=1) video nor Opus audio");
    }
    await this.pc.setLocalDescription(await this.pc.createAnswer());
    return this.pc.localDescription!.sdp;
  }

  /** Trickle ICE (RFC 8840): the client's late candidates. */
  async addCandidates(frag: IceFragment): Promise<void> {
    for (const candidate of frag.candidates) {
      await this.pc.addIceCandidate({ candidate, sdpMid: frag.mid ?? this.pc.getTransceivers()[0]?.mid ?? "0" }).catch(() => {});
    }
  }

  get connectionState(): Connection {
    return this.pc.connectionState;
  }

  onConnectionState(listener: (state: Connection) => void): void {
    this.pc.connectionStateChange.subscribe(listener);
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    await this.pc.close().catch(() => {});
  }
}

export function oneLine(error: unknown): string {
  return (error instanceof Error ? error.message : String(error)).replace(/\s+/g, " ").slice(0, 200);
}
