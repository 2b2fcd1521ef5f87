import { ConnectionError, EndpointRefusedError, WhipcastError } from "../errors.ts";
import { type IceFragment, parseSdpFrag } from "./sdpfrag.ts";
import type { SentSummary, SessionConfig, TransportStats } from "../protocol.ts";
import { nowNs } from "../rtp/ntp.ts";
import type { RtpClock } from "../rtp/rtp-clock.ts";
import { nominatedSocketClosed, pathActivity } from "../rtc/path-activity.ts";
import type { KeyframeCause } from "../rtc/send-transport.ts";
import { STOP_BUDGET } from "../stop-budget.ts";
import { type WhipAnswer, WhipClient } from "./client.ts";
import type { IceServer } from "./link-header.ts";
import { Liveness } from "./liveness.ts";
import { PublisherPeer } from "../rtc/publisher-peer.ts";
import { checkAnswer } from "./sdp.ts";
import { StartupBuffer } from "./startup-buffer.ts";

/** How long ICE + DTLS may take after the answer before the attempt fails (exit 6 on the first). */
export const CONNECT_TIMEOUT_MS = 15_000;
/**
 * When the endpoint offers ICE servers (RFC 9725 §4.6) the first attempt runs without them: the
 * offer was gathered before the POST, and direct paths connect fastest. If it has not connected
 * in this long, that session is deleted and the offer is gathered again through the endpoint's
 * STUN/TURN servers and POSTed afresh. (werift's ICE restart neither re-queries STUN on existing
 * sockets nor restarts DTLS, so a PATCH restart could not use them.)
 */
const FIRST_ATTEMPT_MS = 3_000;
/** Media held while connecting: a few seconds at typical bitrates, always from a keyframe. */
const STARTUP_BUFFER_BYTES = 4 * 1024 * 1024;

interface Media {
  kind: "video" | "audio";
  keyframe: boolean;
  bytes: number;
  data: Uint8Array;
  captureNs: bigint;
  receivedNs: bigint;
}

export type SessionClocks = { video: RtpClock; audio: RtpClock };

/** What one session tells its supervisor (src/whip/supervisor.ts). */
export interface SessionEvents {
  log(level: "debug" | "info" | "warn", message: string): void;
  state(state: "signalling" | "connecting"): void;
  keyframeRequest(cause: KeyframeCause): void;
  target(bps: number, reason: string): void;
  stats(stats: TransportStats): void;
  /** The connected session died (src/whip/liveness.ts says why). Called at most once. */
  lost(reason: string): void;
}

export interface WhipSessionOptions {
  config: SessionConfig;
  /** The run's RTP clocks, made by the supervisor from the first media: they outlive sessions. */
  clocks: () => SessionClocks | undefined;
  /** Hold media made while connecting and send it once up (a file's first session). */
  holdMedia: boolean;
  /** POST attempts inside the client (the first session's few; a reconnect's one, as the supervisor retries). */
  postAttempts: number;
  /** How long ICE + DTLS may take after the answer. */
  connectTimeoutMs: number;
  events: SessionEvents;
}

/**
 * One WHIP session: signalling, the peer connection and the media queue. A run may have many,
 * one after another (src/whip/supervisor.ts replaces a lost one); the RTP clocks are the run's.
 *
 *   signalling → connecting → connected → stopping → stopped
 *
 * Media may arrive from the first moment. A file's is held until DTLS is up and then sent
 * (paced), so the receiver sees the file from its first frame. A live source's is dropped at
 * connect instead: the capture process makes a fresh IDR then (see publish.ts), and video waits
 * for it, so the stream starts with no backlog to drain, at the lowest latency.
 */
export class WhipSession {
  #peer: PublisherPeer;
  #client: WhipClient;
  readonly config: SessionConfig;
  readonly #events: SessionEvents;
  readonly #abort = new AbortController();
  readonly #held = new StartupBuffer<Media>(STARTUP_BUFFER_BYTES);
  #clocks: SessionClocks | undefined;
  #connected = false;
  #liveness: Liveness | undefined;
  #lost = false;
  /** Live start: video is dropped until the first keyframe after connecting. */
  #awaitKeyframe = false;
  /** A file's media is sent this much later than captured (the connect time), in order. */
  #releaseShiftNs: bigint | undefined;
  readonly #delayed: Media[] = [];
  #releaseTimer: ReturnType<typeof setTimeout> | undefined;
  #stopping: Promise<SessionEnd> | undefined;
  #sent = { videoFrames: 0, audioPackets: 0 };
  /** Send failures not yet reported (one line per stats second, never silence). */
  #sendFailures = { count: 0, first: "" };
  #starting: Promise<void> | undefined;
  #statsTimer: ReturnType<typeof setInterval> | undefined;
  #lastCounters: { at: number; video: number; audio: number; repair: number; nacks: number; retransmitted: number; pli: number; fir: number } | undefined;

  constructor(readonly options: WhipSessionOptions) {
    this.config = options.config;
    this.#events = options.events;
    this.#peer = this.#newPeer(this.config.iceServers);
    this.#client = this.#newClient();
  }

  #newPeer(iceServers: IceServer[]): PublisherPeer {
    const c = this.config;
    const peer = new PublisherPeer({
      ...c,
      iceServers,
      onKeyframeRequest: (cause) => this.#events.keyframeRequest(cause),
      onTarget: (bps) => this.#events.target(bps, peer.estimator?.reason ?? "start"),
    });
    if (this.#clocks) peer.setClocks(this.#clocks);
    return peer;
  }

  #newClient(): WhipClient {
    const c = this.config;
    return new WhipClient({
      endpoint: c.endpoint,
      token: c.token,
      timeoutMs: c.timeoutMs,
      maxAttempts: this.options.postAttempts,
      signal: this.#abort.signal,
      log: (message) => this.#events.log("warn", message),
    });
  }

  /** Signal and connect. Rejects with a WhipcastError; the caller then calls stop(). */
  start(): Promise<void> {
    this.#starting = this.#start();
    return this.#starting;
  }

  async #start(): Promise<void> {
    this.#events.state("signalling");
    const answer = await this.#negotiate();
    // Locally configured ICE servers override the endpoint's (whip-client-rules: "may override").
    const endpointServers = this.config.iceServers.length === 0 ? answer.iceServers : [];
    if (answer.iceServers.length > 0) {
      const use = endpointServers.length > 0 ? "used if the first attempt does not connect" : "--ice-server overrides them";
      this.#events.log("debug", `endpoint offered ${answer.iceServers.length} ICE server(s); ${use}`);
    }
    this.#events.state("connecting");
    const connectMs = this.options.connectTimeoutMs;
    if (endpointServers.length === 0 || connectMs <= FIRST_ATTEMPT_MS) {
      await this.#waitConnected(connectMs);
    } else {
      try {
        await this.#waitConnected(FIRST_ATTEMPT_MS);
      } catch (error) {
        if (this.#abort.signal.aborted) throw error;
        this.#events.log("info", `not connected after ${FIRST_ATTEMPT_MS / 1000} s; publishing again through the endpoint's ${endpointServers.length} ICE server(s)`);
        await this.#client.end(STOP_BUDGET.deleteMs);
        await this.#peer.close();
        this.#peer = this.#newPeer(endpointServers);
        this.#client = this.#newClient();
        await this.#negotiate();
        await this.#waitConnected(connectMs - FIRST_ATTEMPT_MS);
      }
    }
    // werift's last DTLS flight is still in node:dgram's queue, which is written only once the
    // microtask queue drains; SRTP goes out through UdpRoute at once. Media sent before that
    // flight would reach the receiver before it has its SRTP keys, and be dropped with the
    // first IDR. An immediate runs after the queue is written.
    await new Promise<void>((resolve) => setImmediate(resolve));
    if (this.#abort.signal.aborted) throw new ConnectionError("stopped before the connection was up");
    this.#connected = true;
    // A failed or closed connection is judged at once, not at the next sample.
    this.#peer.onConnectionState((state) => {
      if (state === "failed" || state === "closed") this.#judge();
    });
    const held = this.#held.drain();
    if (this.options.holdMedia && held.length > 0) {
      // The file goes out from its first frame, at its own pace: everything is sent as late as
      // the first held frame was (the pacer would otherwise see the backlog as one burst).
      this.#releaseShiftNs = nowNs() - held[0]!.captureNs;
      this.#delayed.push(...held);
      this.#releaseDue();
    }
    else this.#awaitKeyframe = this.config.video;
    this.#watch();
  }

  /** Each second: the stats, and whether the endpoint is still there (judged from now on). */
  #watch(): void {
    this.#lost = false;
    this.#liveness = new Liveness(performance.now());
    clearInterval(this.#statsTimer);
    this.#statsTimer = setInterval(() => {
      this.#stats();
      this.#judge();
    }, 1_000);
  }

  /**
   * After this session was lost: an ICE restart (RFC 9725 §4.4.2) over the same DTLS and SRTP.
   * "unsupported" when the endpoint does not take one (or no longer has the session): POST a
   * new offer instead. Rejects with ConnectionError when the new checks fail or take longer
   * than `timeoutMs`, and EndpointUnreachableError when the PATCH is not answered.
   */
  async restartIce(timeoutMs: number): Promise<"restarted" | { unsupported: string }> {
    if (this.#stopping) throw new ConnectionError("the session is stopping");
    /** Why the endpoint's answer is no restart (then a new offer is the way back). */
    let unsupported: string | undefined;
    const refuse = (why: string): never => {
      unsupported = why;
      throw new Error(why);
    };
    const restart = this.#peer.restartIce(async (offer) => {
      const reply = await this.#client.restartIce(offer);
      if (reply.kind === "unsupported") return refuse(reply.status === 0 ? "no session" : String(reply.status));
      let frag: IceFragment;
      try {
        frag = parseSdpFrag(reply.sdpfrag);
      } catch (error) {
        return refuse(`an unusable answer: ${error instanceof Error ? error.message : String(error)}`);
      }
      if (frag.ufrag === undefined || frag.pwd === undefined) return refuse("an answer without ice-ufrag and ice-pwd");
      return { ...frag, ufrag: frag.ufrag, pwd: frag.pwd };
    });
    let timer: ReturnType<typeof setTimeout> | undefined;
    const deadline = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new ConnectionError(`ICE restart did not connect within ${Math.round(timeoutMs / 1000)} s`)), timeoutMs);
    });
    try {
      await Promise.race([restart, deadline]);
    } catch (error) {
      if (unsupported !== undefined) return { unsupported };
      if (error instanceof WhipcastError) throw error;
      throw new ConnectionError(`ICE restart failed: ${error instanceof Error ? error.message : String(error)}`);
    } finally {
      clearTimeout(timer);
      restart.catch(() => {});
    }
    if (this.#stopping) throw new ConnectionError("the session is stopping");
    // Live again: video waits for the fresh IDR the supervisor asks for.
    this.#awaitKeyframe = this.config.video;
    this.#releaseShiftNs = undefined;
    this.#delayed.length = 0;
    this.#watch();
    return "restarted";
  }

  /** Whether the endpoint is still there (src/whip/liveness.ts); tells the supervisor once if not. */
  #judge(): void {
    if (!this.#liveness || this.#lost || this.#stopping) return;
    // Inbound traffic alone cannot tell that what we send goes nowhere (path-activity.ts).
    if (nominatedSocketClosed(this.#peer.pc)) return this.lose("the selected path's socket is closed");
    const verdict = this.#liveness.observe(pathActivity(this.#peer.pc, this.#peer.transport.counters.rtcp), performance.now());
    if (!verdict.alive) this.lose(verdict.reason);
  }

  /** Treat the connected session as lost now (its path is judged dead, or the network changed under it). */
  lose(reason: string): void {
    if (!this.#connected || this.#lost || this.#stopping) return;
    this.#lost = true;
    clearInterval(this.#statsTimer);
    this.#events.lost(reason);
  }

  /** One second of sending, from the transport's counters (the rates are over the last second). */
  #stats(): void {
    const peer = this.#peer;
    const c = peer.transport.counters;
    const now = performance.now();
    const snapshot = { at: now, video: c.bytes.video, audio: c.bytes.audio, repair: c.bytes.retransmission + c.bytes.padding, nacks: peer.nacks, retransmitted: c.packets.retransmission, pli: c.pli, fir: c.fir };
    const last = this.#lastCounters;
    this.#lastCounters = snapshot;
    if (!last) return;
    const seconds = (now - last.at) / 1000;
    const bps = (bytes: number) => Math.round((bytes * 8) / seconds);
    const estimator = peer.estimator;
    const rtt = peer.transport.rttMs;
    if (this.#sendFailures.count > 0) {
      this.#events.log("warn", `${this.#sendFailures.count} media send(s) failed in the last second: ${this.#sendFailures.first}`);
      this.#sendFailures = { count: 0, first: "" };
    }
    this.#events.stats({
      videoBps: bps(snapshot.video - last.video),
      audioBps: bps(snapshot.audio - last.audio),
      repairBps: bps(snapshot.repair - last.repair),
      ...(estimator ? { targetBps: Math.round(estimator.targetBps), lossPercent: Math.round(estimator.lossFraction * 1000) / 10 } : {}),
      ...(rtt !== undefined ? { rttMs: Math.round(rtt) } : {}),
      nacks: snapshot.nacks,
      retransmitted: snapshot.retransmitted,
      pli: snapshot.pli,
      fir: snapshot.fir,
      queueMs: Math.round(peer.transport.pacer.queueDelayMs(now)),
    });
  }

  /** Offer, POST, check and apply the answer (RFC 9725 §4.2). */
  async #negotiate(): Promise<WhipAnswer> {
    const offer = await this.#peer.createOffer();
    const answer = await this.#client.publish(offer);
    const problem = checkAnswer(answer.sdp, offer);
    if (problem) throw new EndpointRefusedError(`endpoint sent an unusable SDP answer: ${problem}`);
    try {
      await this.#peer.acceptAnswer(answer.sdp);
    } catch (error) {
      throw new EndpointRefusedError(`endpoint sent an unusable SDP answer: ${error instanceof Error ? error.message : String(error)}`);
    }
    return answer;
  }

  #waitConnected(timeoutMs: number): Promise<void> {
    return new Promise((resolve, reject) => {
      if (this.#peer.connectionState === "connected") return resolve();
      const timer = setTimeout(() => reject(new ConnectionError(`WebRTC did not connect within ${Math.round(timeoutMs / 1000)} s (ICE/DTLS)`)), timeoutMs);
      const onAbort = () => {
        clearTimeout(timer);
        reject(new ConnectionError("stopped before the connection was up"));
      };
      this.#abort.signal.addEventListener("abort", onAbort, { once: true });
      this.#peer.onConnectionState((state) => {
        if (state === "connected") {
          clearTimeout(timer);
          this.#abort.signal.removeEventListener("abort", onAbort);
          resolve();
        } else if (state === "failed" || state === "closed") {
          clearTimeout(timer);
          reject(new ConnectionError(`WebRTC connection ${state} before media flowed (ICE/DTLS)`));
        }
      });
    });
  }

  video(data: Uint8Array, captureNs: bigint, keyframe: boolean, receivedNs: bigint): void {
    this.#media({ kind: "video", keyframe, bytes: data.byteLength, data, captureNs, receivedNs });
  }

  audio(data: Uint8Array, captureNs: bigint): void {
    this.#media({ kind: "audio", keyframe: true, bytes: data.byteLength, data, captureNs, receivedNs: 0n });
  }

  #media(item: Media): void {
    if (this.#stopping || this.#lost) return;
    if (!this.#clocks) {
      this.#clocks = this.options.clocks();
      if (!this.#clocks) return;
      this.#peer.setClocks(this.#clocks);
    }
    if (!this.#connected) {
      if (this.options.holdMedia) this.#held.push({ ...item, receivedNs: 0n });
      return;
    }
    if (item.kind === "video" && this.#awaitKeyframe) {
      if (!item.keyframe) return;
      this.#awaitKeyframe = false;
    }
    if (this.#releaseShiftNs !== undefined) {
      // Delayed on purpose: not a hand-off latency figure.
      this.#delayed.push({ ...item, receivedNs: 0n });
      if (this.#delayed.length === 1) this.#releaseDue();
      return;
    }
    this.#enqueueSend([item]);
  }

  /** Send the delayed media that is due, and wait for the next. */
  #releaseDue(): void {
    clearTimeout(this.#releaseTimer);
    const shift = this.#releaseShiftNs!;
    const now = nowNs();
    const due: Media[] = [];
    while (this.#delayed.length > 0 && this.#delayed[0]!.captureNs + shift <= now) due.push(this.#delayed.shift()!);
    this.#enqueueSend(due);
    const next = this.#delayed[0];
    if (next && !this.#stopping) this.#releaseTimer = setTimeout(() => this.#releaseDue(), Math.max(0, Number(next.captureNs + shift - now) / 1e6));
  }

  /**
   * Hand media to the peer, in capture order (sending is synchronous: packetize, then queue on
   * the pacer). One item that fails is counted and reported with the next stats line; it never
   * stops the items after it. Latency is recorded only for frames sent as they arrive (held
   * start-up frames carry receivedNs 0).
   */
  #enqueueSend(items: Media[]): void {
    const clocks = this.#clocks;
    if (!clocks) return;
    for (const item of items) {
      try {
        if (item.kind === "video") {
          this.#peer.sendVideo(item.data, clocks.video.at(item.captureNs), item.captureNs, item.receivedNs);
          this.#sent.videoFrames++;
        } else {
          this.#peer.sendAudio(item.data, clocks.audio.at(item.captureNs), item.captureNs);
          this.#sent.audioPackets++;
        }
      } catch (error) {
        if (this.#sendFailures.count++ === 0) this.#sendFailures.first = error instanceof Error ? error.message.split("\n")[0]! : String(error);
      }
    }
  }

  /**
   * End the session: DELETE the WHIP resource (within `deleteMs`), then close the peer. Idempotent;
   * resolves with what was sent and whether the endpoint confirmed the DELETE.
   */
  stop(deleteMs: number = STOP_BUDGET.deleteMs): Promise<SessionEnd> {
    this.#stopping ??= (async () => {
      clearInterval(this.#statsTimer);
      clearTimeout(this.#releaseTimer);
      this.#abort.abort();
      // A POST in flight may be creating the session right now: let it land (bounded by the
      // stop budget) so the DELETE below can remove it. Nothing half-done stays on the server.
      if (this.#starting) await Promise.race([this.#starting.catch(() => {}), Bun.sleep(STOP_BUDGET.postLandingMs)]);
      const result = await this.#client.end(deleteMs);
      const t = this.#peer.transport;
      const p50 = t.handoff.percentileMs(50);
      const p99 = t.handoff.percentileMs(99);
      const q50 = t.pacing.percentileMs(50);
      const q99 = t.pacing.percentileMs(99);
      const sent: SentSummary = {
        ...this.#sent,
        retransmitted: this.#peer.retransmitted,
        ...(p50 !== undefined && p99 !== undefined ? { latencyP50Ms: p50, latencyP99Ms: p99 } : {}),
        ...(q50 !== undefined && q99 !== undefined ? { pacingP50Ms: q50, pacingP99Ms: q99 } : {}),
      };
      await this.#peer.close();
      return { deleted: result.deleted, sent, ...(result.detail ? { detail: result.detail } : {}) };
    })();
    return this.#stopping;
  }
}

/** How a session ended. */
export interface SessionEnd {
  deleted: boolean;
  detail?: string;
  sent: SentSummary;
}
