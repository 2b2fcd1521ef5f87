import { RTCIceParameters, RTCPeerConnection } from "werift";
import { applyRemoteFragment, localFragment } from "./ice-restart.ts";
import { tuneUdpSockets } from "./udp-sockets.ts";
import type { IceServer } from "../whip/link-header.ts";
import type { IceFragment } from "../whip/sdpfrag.ts";
import { offerProblem, relayPeerConfig } from "./peer-config.ts";
import { PeerError } from "./peer-error.ts";
import { LIVENESS, Liveness, type LivenessOptions } from "../whip/liveness.ts";
import { pathActivity } from "./path-activity.ts";

/** How long a restarted ICE session may take to connect before the session is ended. */
const RESTART_TIMEOUT_MS = 15_000;

export type Connection = "new" | "connecting" | "connected" | "disconnected" | "failed" | "closed";

/**
 * The server half of one WHIP or WHEP session: a werift peer that answers the client's offer
 * and takes its trickled candidates (RFC 9725 §4.4). Publications and viewers build on it.
 */
export class Answerer {
  readonly pc: RTCPeerConnection;
  #closed = false;
  #restartDeadline: ReturnType<typeof setTimeout> | undefined;
  #livenessTimer: ReturnType<typeof setInterval> | undefined;
  /** Set while an ICE restart is being checked: the client is there (it PATCHed), just not its path. */
  #restarting = false;
  #judge: Liveness | undefined;

  constructor(iceServers: IceServer[], loopback: boolean) {
    this.pc = new RTCPeerConnection(relayPeerConfig(iceServers, loopback));
  }

  /**
   * Answer an offer, every transceiver set to `direction` for the kinds the relay carries and
   * inactive for the rest. Throws a PeerError for an offer werift cannot take.
   */
  async answer(offer: string, direction: (kind: "audio" | "video") => "recvonly" | "sendonly" | "inactive"): Promise<string> {
    const problem = offerProblem(offer);
    if (problem) throw new PeerError("malformed-offer", `the offer is not usable SDP: ${problem}`);
    try {
      await this.pc.setRemoteDescription({ type: "offer", sdp: offer });
    } catch (error) {
      throw new PeerError("malformed-offer", `the offer was rejected: ${oneLine(error)}`);
    }
    const transceivers = this.pc.getTransceivers();
    for (const t of transceivers) t.setDirection(t.codecs.length > 0 ? direction(t.kind as "audio" | "video") : "inactive");
    if (!transceivers.some((t) => t.codecs.length > 0)) {
      throw new PeerError("no-usable-media", "the offer has neither H.264 (packetization-mode=1) video nor Opus audio");
    }
    await this.pc.setLocalDescription(await this.pc.createAnswer());
    // Keyframe bursts must fit in the sockets until the relay reads them, and no datagram may be
    // lost to another's stale ICMP error (udp-sockets.ts).
    tuneUdpSockets(this.pc);
    return this.pc.localDescription!.sdp;
  }

  /** Trickle ICE (RFC 8840): the client's late candidates. */
  async addCandidates(frag: IceFragment): Promise<void> {
    for (const candidate of frag.candidates) {
      await this.pc.addIceCandidate({ candidate, sdpMid: frag.mid ?? this.pc.getTransceivers()[0]?.mid ?? "0" }).catch(() => {});
    }
  }

  /**
   * ICE restart (RFC 9725 §4.4.2, RFC 8445 §9): new remote credentials and candidates in, new
   * local credentials and candidates out as the answer sdpfrag. Only ICE restarts; DTLS and
   * SRTP carry on over whichever pair the new checks nominate, so media resumes with no new
   * offer/answer. werift's own offer/answer restart path re-gathers but never starts the new
   * checks while DTLS is up (its connect() returns early), which is why this drives the ICE
   * transport itself. Throws a PeerError when the session has no ICE transport left or the credentials are not new.
   */
  async restartIce(frag: IceFragment & { ufrag: string; pwd: string }): Promise<string> {
    const ice = this.pc.iceTransports.find((t) => t.state !== "closed");
    if (this.#closed || !ice) throw new PeerError("no-ice-transport", "the session has no ICE transport left to restart; POST a new offer");
    if (ice.connection.remoteUsername === frag.ufrag) throw new PeerError("not-an-ice-restart", "an ICE restart needs a new ice-ufrag (RFC 8445 §9)");
    // The new remote credentials before the gather: werift starts the new generation when they
    // change, which clears what was gathered (applying them again below changes nothing).
    ice.setRemoteParams(new RTCIceParameters({ usernameFragment: frag.ufrag, password: frag.pwd, iceLite: false }));
    await ice.gather();
    tuneUdpSockets(this.pc);
    // end-of-candidates is not passed on: werift's controlled agent would then fail at once on
    // an empty check list instead of waiting for the client's checks (peer-reflexive pairs).
    await applyRemoteFragment(ice, frag, false);
    // Connectivity checks for the new generation. A failed generation leaves the client time to
    // restart again (its path may still be down); a session with no restart connected within
    // RESTART_TIMEOUT_MS of the latest one is ended.
    clearTimeout(this.#restartDeadline);
    const deadline = setTimeout(() => void this.close(), RESTART_TIMEOUT_MS);
    this.#restartDeadline = deadline;
    this.#restarting = true;
    ice.start().then(
      () => {
        if (this.#restartDeadline !== deadline) return;
        clearTimeout(deadline);
        this.#restarting = false;
        this.#judge?.reset(performance.now());
      },
      () => {},
    );
    return localFragment(ice, frag.mid ?? this.pc.getTransceivers()[0]?.mid ?? "0", frag.mline);
  }

  /**
   * Once connected, judge each second whether the client is still there (src/whip/liveness.ts):
   * `steady` counts what it sends steadily (media from a publisher, RTCP from a viewer). Calls
   * `onLost` once, with the reason, when it is not. A client that vanished without a DELETE
   * is noticed in seconds, not after ICE consent's 30 s.
   */
  watchLiveness(steady: () => number, steadyName: string, onLost: (reason: string) => void, options: LivenessOptions = LIVENESS): void {
    const begin = () => {
      if (this.#livenessTimer !== undefined || this.#closed) return;
      this.#judge = new Liveness(performance.now(), steadyName, options);
      this.#livenessTimer = setInterval(() => {
        if (this.#restarting || !this.#judge) return;
        const verdict = this.#judge.observe(pathActivity(this.pc, steady()), performance.now());
        if (verdict.alive) return;
        clearInterval(this.#livenessTimer);
        onLost(verdict.reason);
      }, 1_000);
    };
    if (this.pc.connectionState === "connected") begin();
    this.onConnectionState((state) => {
      if (state === "connected") begin();
    });
  }

  get connectionState(): Connection {
    return this.pc.connectionState;
  }

  /** How long nothing has come from the client, as of the latest liveness sample (0 before connecting). */
  silentForMs(nowMs = performance.now()): number {
    return this.#judge?.silentMs(nowMs) ?? 0;
  }

  /** An ICE restart is being checked: a "failed" generation meanwhile is not the session's end. */
  get restarting(): boolean {
    return this.#restarting;
  }

  onConnectionState(listener: (state: Connection) => void): void {
    this.pc.connectionStateChange.subscribe(listener);
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    clearTimeout(this.#restartDeadline);
    clearInterval(this.#livenessTimer);
    await this.pc.close().catch(() => {});
  }
}

export function oneLine(error: unknown): string {
  return (error instanceof Error ? error.message : String(error)).replace(/\s+/g, " ").slice(0, 200);
}
