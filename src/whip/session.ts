import { ConnectionError, EndpointRefusedError, toPayload } from "../errors.ts";
import type { SessionConfig, SessionEvent } from "../protocol.ts";
import { redactUrl } from "../redact.ts";
import { nowNs } from "../rtp/ntp.ts";
import { createSessionClocks, cryptoRandomU32, type RtpClock } from "../rtp/rtp-clock.ts";
import { type WhipAnswer, WhipClient } from "./client.ts";
import type { IceServer } from "./link-header.ts";
import { PublisherPeer } from "../rtc/publisher-peer.ts";
import { checkAnswer } from "./sdp.ts";
import { StartupBuffer } from "./startup-buffer.ts";

/** How long ICE + DTLS may take after the answer before the run fails with exit 6. */
const CONNECT_TIMEOUT_MS = 15_000;
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

/**
 * One WHIP publication: signalling, the peer connection, the RTP clocks and the media queue.
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
  readonly #abort = new AbortController();
  readonly #held = new StartupBuffer<Media>(STARTUP_BUFFER_BYTES);
  #clocks: { video: RtpClock; audio: RtpClock } | undefined;
  #connected = false;
  /** Live start: video is dropped until the first keyframe after connecting. */
  #awaitKeyframe = false;
  /** A file's media is sent this much later than captured (the connect time), in order. */
  #releaseShiftNs: bigint | undefined;
  readonly #delayed: Media[] = [];
  #releaseTimer: ReturnType<typeof setTimeout> | undefined;
  #stopping: Promise<void> | undefined;
  #sending: Promise<void> = Promise.resolve();
  #sent = { videoFrames: 0, audioPackets: 0 };
  #starting: Promise<void> | undefined;
  #statsTimer: ReturnType<typeof setInterval> | undefined;
  #lastCounters: { at: number; video: number; audio: number; repair: number; nacks: number; retransmitted: number; pli: number; fir: number } | undefined;

  constructor(
    readonly config: SessionConfig,
    readonly emit: (event: SessionEvent) => void,
  ) {
    this.#peer = this.#newPeer(config.iceServers);
    this.#client = this.#newClient();
  }

  #newPeer(iceServers: IceServer[]): PublisherPeer {
    const c = this.config;
    const peer = new PublisherPeer({
      ...c,
      iceServers,
      onKeyframeRequest: (cause) => this.emit({ type: "keyframe-request", cause }),
      onTarget: (bps) => this.emit({ type: "target", bps, reason: peer.estimator?.reason ?? "start" }),
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
      signal: this.#abort.signal,
      log: (message) => this.emit({ type: "log", level: "warn", message }),
    });
  }

  /** Signal and connect. Rejects with a WhipcastError; the caller then calls stop(). */
  start(): Promise<void> {
    this.#starting = this.#start();
    return this.#starting;
  }

  async #start(): Promise<void> {
    this.emit({ type: "state", state: "signalling", detail: redactUrl(this.config.endpoint) });
    const answer = await this.#negotiate();
    // Locally configured ICE servers override the endpoint's (whip-client-rules: "may override").
    const endpointServers = this.config.iceServers.length === 0 ? answer.iceServers : [];
    if (answer.iceServers.length > 0) {
      const use = endpointServers.length > 0 ? "used if the first attempt does not connect" : "--ice-server overrides them";
      this.emit({ type: "log", level: "debug", message: `endpoint offered ${answer.iceServers.length} ICE server(s); ${use}` });
    }
    this.emit({ type: "state", state: "connecting" });
    if (endpointServers.length === 0) {
      await this.#waitConnected(CONNECT_TIMEOUT_MS);
    } else {
      try {
        await this.#waitConnected(FIRST_ATTEMPT_MS);
      } catch (error) {
        if (this.#abort.signal.aborted) throw error;
        this.emit({ type: "log", level: "info", message: `not connected after ${FIRST_ATTEMPT_MS / 1000} s; publishing again through the endpoint's ${endpointServers.length} ICE server(s)` });
        await this.#client.end(2_000);
        await this.#peer.close();
        this.#peer = this.#newPeer(endpointServers);
        this.#client = this.#newClient();
        await this.#negotiate();
        await this.#waitConnected(CONNECT_TIMEOUT_MS - FIRST_ATTEMPT_MS);
      }
    }
    // werift's last DTLS flight is still in node:dgram's queue, which is written only once the
    // microtask queue drains; SRTP goes out through UdpRoute at once. Media sent before that
    // flight would reach the receiver before it has its SRTP keys, and be dropped with the
    // first IDR. An immediate runs after the queue is written.
    await new Promise<void>((resolve) => setImmediate(resolve));
    this.#connected = true;
    this.emit({ type: "state", state: "connected" });
    this.#peer.onConnectionState((state) => {
      if (state === "failed" && !this.#stopping) {
        this.emit({ type: "error", error: toPayload(new ConnectionError("WebRTC connection failed mid-stream (ICE or DTLS)")) });
      }
    });
    const held = this.#held.drain();
    if (this.config.sendHeldMedia && held.length > 0) {
      // The file goes out from its first frame, at its own pace: everything is sent as late as
      // the first held frame was (the pacer would otherwise see the backlog as one burst).
      this.#releaseShiftNs = nowNs() - held[0]!.captureNs;
      this.#delayed.push(...held);
      this.#releaseDue();
    }
    else this.#awaitKeyframe = this.config.video;
    this.#statsTimer = setInterval(() => this.#stats(), 1_000);
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
    this.emit({
      type: "stats",
      stats: {
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
      },
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
      const timer = setTimeout(() => reject(new ConnectionError(`WebRTC did not connect within ${CONNECT_TIMEOUT_MS / 1000} s (ICE/DTLS)`)), timeoutMs);
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
    if (this.#stopping) return;
    // Both streams share one start: the capture time of the first media of either kind.
    if (!this.#clocks) {
      this.#clocks = createSessionClocks(item.captureNs, cryptoRandomU32);
      this.#peer.setClocks(this.#clocks);
    }
    if (!this.#connected) {
      if (this.config.sendHeldMedia) this.#held.push({ ...item, receivedNs: 0n });
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
   * Keep packets in capture order: each send waits for the previous one to leave. Latency is
   * recorded only for frames sent as they arrive (held start-up frames carry receivedNs 0).
   */
  #enqueueSend(items: Media[]): void {
    if (items.length === 0) return;
    this.#sending = this.#sending.then(async () => {
      for (const item of items) {
        const clocks = this.#clocks!;
        if (item.kind === "video") {
          this.#peer.sendVideo(item.data, clocks.video.at(item.captureNs), item.receivedNs);
          this.#sent.videoFrames++;
        } else {
          this.#peer.sendAudio(item.data, clocks.audio.at(item.captureNs));
          this.#sent.audioPackets++;
        }
      }
    });
  }

  /** End the publication: DELETE the WHIP resource, then close the peer. Idempotent. */
  stop(): Promise<void> {
    this.#stopping ??= (async () => {
      this.emit({ type: "state", state: "stopping" });
      clearInterval(this.#statsTimer);
      clearTimeout(this.#releaseTimer);
      this.#abort.abort();
      // A POST in flight may be creating the session right now: let it land (bounded by the
      // stop budget) so the DELETE below can remove it. Nothing half-done stays on the server.
      if (this.#starting) await Promise.race([this.#starting.catch(() => {}), Bun.sleep(1_500)]);
      const result = await this.#client.end(2_000);
      const t = this.#peer.transport;
      const p50 = t.handoff.percentileMs(50);
      const p99 = t.handoff.percentileMs(99);
      const q50 = t.pacing.percentileMs(50);
      const q99 = t.pacing.percentileMs(99);
      const sent = {
        ...this.#sent,
        retransmitted: this.#peer.retransmitted,
        ...(p50 !== undefined && p99 !== undefined ? { latencyP50Ms: p50, latencyP99Ms: p99 } : {}),
        ...(q50 !== undefined && q99 !== undefined ? { pacingP50Ms: q50, pacingP99Ms: q99 } : {}),
      };
      await this.#peer.close();
      this.emit({ type: "stopped", deleted: result.deleted, sent, ...(result.detail ? { detail: result.detail } : {}) });
    })();
    return this.#stopping;
  }
}
