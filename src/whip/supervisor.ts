import { ConnectionError, type WhipcastError, asWhipcastError, toPayload } from "../errors.ts";
import type { SentSummary, SessionConfig, SessionEvent } from "../protocol.ts";
import { redactUrl } from "../redact.ts";
import { createSessionClocks, cryptoRandomU32 } from "../rtp/rtp-clock.ts";
import { RECONNECT_DELETE_MS, STOP_BUDGET } from "../stop-budget.ts";
import { firstDelayMs, nextStep, type ReconnectTally } from "./reconnect-policy.ts";
import { CLOSED_BY_ENDPOINT } from "./liveness.ts";
import { type InterfaceTable, NetworkWatch } from "./network-watch.ts";
import { CONNECT_TIMEOUT_MS, type SessionClocks, type SessionEnd, type SessionEvents, WhipSession } from "./session.ts";

/** What a lost session leaves for the attempts that replace it. */
interface Outage {
  /** When the session was lost (monotonic ms). */
  sinceMs: number;
  /** The attempt about to be made, or being made (1-based). */
  attempt: number;
  tally: ReconnectTally;
  /** The lost session, kept while ICE restarts may still bring it back. */
  keep?: WhipSession;
  /** Sessions given up on: their best-effort DELETE and close. */
  ending: Promise<unknown>;
}

/** A reconnect's ICE checks may take this many times the first connect, within these bounds. */
const RECONNECT_CONNECT_FACTOR = 4;
const RECONNECT_CONNECT_MIN_MS = 2_500;
/** How long a first POST answered 409 is tried again (a server notices a vanished publisher in ~7 s). */
const CONFLICT_RETRY_MS = 12_000;

/**
 * The supervisor's states, each with what it needs:
 *
 *   connecting{session} ──▶ live{session} ──lost──▶ restarting{outage} ──▶ live (same session)
 *                                ▲                    │  checks failed: waiting, then again
 *                                │                    ▼  no restarts here / HTTP down
 *                                └── reconnecting{session, outage} ◀── waiting{outage, timer}
 *
 * and from any of them stopping → stopped. `connecting` is the run's first session: its failure
 * ends the run (a wrong URL or key is reported at once, as before). A lost session is first
 * ICE-restarted (PATCH, RFC 9725 §4.4.2: same DTLS, same server session, viewers undisturbed);
 * where the endpoint takes no restarts, or has lost the session, a new offer is POSTed. Every
 * failure is retried as the reconnect policy says (src/whip/reconnect-policy.ts).
 */
type State =
  | { name: "idle" }
  | { name: "connecting"; session: WhipSession }
  | { name: "live"; session: WhipSession }
  | { name: "waiting"; outage: Outage; timer: ReturnType<typeof setTimeout> }
  | { name: "restarting"; outage: Outage & { keep: WhipSession } }
  | { name: "reconnecting"; session: WhipSession; outage: Outage }
  | { name: "stopping" }
  | { name: "stopped" };

export interface SupervisorOptions {
  config: SessionConfig;
  emit: (event: SessionEvent) => void;
  now?: () => number;
  random?: () => number;
  /** The machine's interfaces (node:os networkInterfaces); injected by tests. */
  interfaces?: () => InterfaceTable;
}

/**
 * Keeps a run published: creates the WHIP session, notices when it is lost, and replaces it
 * while the capture goes on. The RTP clocks live here, for the whole run, so a new session's
 * timestamps stay true to capture time (no gap, no jump other than the outage itself).
 * Lives in the session Worker; the main thread sees its state and log events.
 */
export class SessionSupervisor {
  #state: State = { name: "idle" };
  #clocks: SessionClocks | undefined;
  #sent: SentSummary = { videoFrames: 0, audioPackets: 0, retransmitted: 0 };
  #reconnects = 0;
  /** Sessions whose stop has been asked for: each one's figures are added to #sent once. */
  readonly #ended = new WeakSet<WhipSession>();
  /** How long the first session took from POST to connected: the measure of this path. */
  #firstConnectMs: number | undefined;
  #stopping: Promise<void> | undefined;
  readonly #now: () => number;
  readonly #random: () => number;

  /** A changed address restarts ICE at once (the old path may be gone, or a better one here). */
  readonly #network: NetworkWatch;

  constructor(readonly options: SupervisorOptions) {
    this.#now = options.now ?? (() => performance.now());
    this.#random = options.random ?? Math.random;
    this.#network = new NetworkWatch((change) => {
      if (this.#state.name === "live") this.#state.session.lose(`network changed: ${change}`);
    }, options.interfaces);
  }

  start(): void {
    if (this.#state.name !== "idle") return;
    this.#network.start();
    void this.#first(this.#now(), { endpointFailures: 0, pathFailures: 0 });
  }

  /**
   * The run's first session. Its failure ends the run, except a 409 for the first
   * CONFLICT_RETRY_MS: the stream's previous publisher may be this one's own earlier process
   * (crashed, restarted by launchd or cron), whose silent session the server has not yet let go.
   */
  async #first(sinceMs: number, tally: ReconnectTally): Promise<void> {
    const session = this.#newSession(true);
    this.#state = { name: "connecting", session };
    const began = this.#now();
    try {
      await session.start();
    } catch (error) {
      if (this.#state.name !== "connecting" || this.#state.session !== session) return;
      const failure = asWhipcastError(error);
      void this.#end(session, RECONNECT_DELETE_MS);
      const step = (failure as { status?: number }).status === 409 ? nextStep(failure, { tally, elapsedMs: this.#now() - sinceMs, timeoutMs: CONFLICT_RETRY_MS, random: this.#random }) : undefined;
      if (step?.kind !== "retry") return this.#fail(failure);
      this.#emit({ type: "log", level: "warn", message: `${failure.message}; trying again in ${seconds(step.delayMs)} (a publisher that has gone is let go within seconds)` });
      const timer = setTimeout(() => void this.#first(sinceMs, step.tally), step.delayMs);
      this.#state = { name: "waiting", outage: { sinceMs, attempt: 1, tally: step.tally, ending: Promise.resolve() }, timer };
      return;
    }
    this.#firstConnectMs = this.#now() - began;
    if (this.#state.name === "connecting" && this.#state.session === session) this.#live(session);
  }

  video(data: Uint8Array, captureNs: bigint, keyframe: boolean, receivedNs: bigint): void {
    this.#ensureClocks(captureNs);
    this.#current()?.video(data, captureNs, keyframe, receivedNs);
  }

  audio(data: Uint8Array, captureNs: bigint): void {
    this.#ensureClocks(captureNs);
    this.#current()?.audio(data, captureNs);
  }

  /** End the run: the current session is deleted, a pending retry cancelled. Idempotent. */
  stop(): Promise<void> {
    this.#stopping ??= (async () => {
      const state = this.#state;
      this.#state = { name: "stopping" };
      this.#network.stop();
      this.#emit({ type: "state", state: "stopping" });
      if (state.name === "waiting") clearTimeout(state.timer);
      const current = state.name === "connecting" || state.name === "live" || state.name === "reconnecting" ? state.session : state.name === "waiting" || state.name === "restarting" ? state.outage.keep : undefined;
      // The current session's DELETE and those of sessions already given up on, side by side:
      // the whole stop fits STOP_BUDGET.sessionMs.
      const [end] = await Promise.all([current ? this.#end(current) : undefined, "outage" in state ? bounded(state.outage.ending, STOP_BUDGET.deleteMs) : undefined]);
      this.#state = { name: "stopped" };
      this.#emit({ type: "stopped", deleted: end?.deleted ?? false, sent: this.#sent, reconnects: this.#reconnects, ...(end?.detail ? { detail: end.detail } : {}) });
    })();
    return this.#stopping;
  }

  /** The session media goes to: the one connecting or live. While waiting to retry, none. */
  #current(): WhipSession | undefined {
    const s = this.#state;
    return s.name === "connecting" || s.name === "live" || s.name === "reconnecting" ? s.session : undefined;
  }

  /** Both streams share one start: the capture time of the run's first media of either kind. */
  #ensureClocks(captureNs: bigint): void {
    if (this.#clocks) return;
    this.#clocks = createSessionClocks(captureNs, cryptoRandomU32);
    // What a receiver needs to tie RTP timestamps back to capture instants (and what
    // abs-capture-time and the Sender Reports say): the capture time both clocks start from.
    const { video, audio } = this.#clocks;
    this.#emit({ type: "log", level: "debug", message: `capture clock: RTP video ${video.base}, audio ${audio.base} at ${new Date(Number(captureNs / 1_000_000n)).toISOString()} (${captureNs} ns since the Unix epoch)` });
  }

  #newSession(first: boolean): WhipSession {
    const config = this.options.config;
    const events: SessionEvents = {
      log: (level, message) => this.#emit({ type: "log", level, message }),
      state: (state) => {
        if (first) this.#emit({ type: "state", state, ...(state === "signalling" ? { detail: redactUrl(config.endpoint) } : {}) });
      },
      keyframeRequest: (cause) => {
        if (this.#current() === session) this.#emit({ type: "keyframe-request", cause });
      },
      target: (bps, reason) => {
        if (this.#current() === session) this.#emit({ type: "target", bps, reason });
      },
      stats: (stats) => {
        if (this.#state.name === "live" && this.#state.session === session) this.#emit({ type: "stats", stats });
      },
      lost: (reason) => this.#lost(session, reason),
    };
    const session = new WhipSession({
      config,
      clocks: () => this.#clocks,
      // A file's first session starts from the file's first frame; every later one from a fresh IDR.
      holdMedia: first && config.sendHeldMedia,
      // The first POST keeps the client's own few retries; a reconnect's retries are the policy's.
      postAttempts: first ? 3 : 1,
      connectTimeoutMs: first ? CONNECT_TIMEOUT_MS : this.#reconnectConnectMs(),
      events,
    });
    return session;
  }

  /** A reconnect's connect (or restart) bound: a multiple of what this path took at first. */
  #reconnectConnectMs(): number {
    const first = this.#firstConnectMs ?? CONNECT_TIMEOUT_MS;
    return Math.min(CONNECT_TIMEOUT_MS, Math.max(RECONNECT_CONNECT_MIN_MS, RECONNECT_CONNECT_FACTOR * first));
  }

  #live(session: WhipSession, outage?: Outage, how = ""): void {
    this.#state = { name: "live", session };
    if (outage) {
      this.#reconnects++;
      const afterMs = this.#now() - outage.sinceMs;
      this.#emit({ type: "log", level: "info", message: `live again after ${(afterMs / 1000).toFixed(1)} s (attempt ${outage.attempt}${how})` });
      this.#emit({ type: "state", state: "connected", reconnect: { attempt: outage.attempt, afterMs } });
    } else this.#emit({ type: "state", state: "connected" });
  }

  #lost(session: WhipSession, reason: string): void {
    if (this.#state.name !== "live" || this.#state.session !== session) return;
    if (!this.options.config.reconnect) {
      void this.#end(session, RECONNECT_DELETE_MS);
      this.#fail(new ConnectionError(`connection lost (${reason}); not reconnecting (--no-reconnect)`));
      return;
    }
    const outage: Outage = { sinceMs: this.#now(), attempt: 1, tally: { endpointFailures: 0, pathFailures: 0 }, ending: Promise.resolve() };
    // A connection the endpoint closed is over: only a new offer can bring it back.
    if (reason === CLOSED_BY_ENDPOINT) {
      outage.ending = this.#end(session, RECONNECT_DELETE_MS);
      const delay = firstDelayMs(this.#random);
      this.#emit({ type: "log", level: "warn", message: `connection lost (${reason}); reconnecting in ${seconds(delay)} (attempt 1)` });
      this.#wait(outage, delay);
      return;
    }
    this.#emit({ type: "log", level: "warn", message: `connection lost (${reason}); restarting ICE (attempt 1)` });
    void this.#restart({ ...outage, keep: session });
  }

  #wait(outage: Outage, delayMs: number): void {
    const timer = setTimeout(() => void this.#attempt(outage), delayMs);
    this.#state = { name: "waiting", outage, timer };
    this.#emit({ type: "state", state: "reconnecting", reconnect: { attempt: outage.attempt, afterMs: this.#now() - outage.sinceMs } });
  }

  /** An ICE restart of the kept session; on failure, the policy says when to try what next. */
  async #restart(outage: Outage & { keep: WhipSession }): Promise<void> {
    this.#state = { name: "restarting", outage };
    this.#emit({ type: "state", state: "reconnecting", reconnect: { attempt: outage.attempt, afterMs: this.#now() - outage.sinceMs } });
    const session = outage.keep;
    let failure: WhipcastError | undefined;
    let result: Awaited<ReturnType<WhipSession["restartIce"]>> | undefined;
    try {
      result = await session.restartIce(this.#reconnectConnectMs());
    } catch (error) {
      failure = asWhipcastError(error);
    }
    if (this.#state.name !== "restarting" || this.#state.outage !== outage) return;
    if (result === "restarted") return this.#live(session, outage, ", ICE restart");
    // The endpoint answered the PATCH: the path is what failed. Keep the session; restart again.
    if (failure instanceof ConnectionError) return this.#retry(outage, failure, "ICE restart");
    // No restart here (or the session is gone, or HTTP is down): a new offer, after the old
    // session is deleted.
    const ending = this.#end(session, RECONNECT_DELETE_MS);
    const { keep: _, ...rest } = outage;
    if (result !== undefined) {
      this.#emit({ type: "log", level: "info", message: `the endpoint did not take an ICE restart (${result.unsupported}); posting a new offer` });
      this.#wait({ ...rest, ending }, 0);
      return;
    }
    this.#retry({ ...rest, ending }, failure!, "ICE restart");
  }

  /** After a failed attempt: give up, or wait as the policy says and try again. */
  #retry(outage: Outage, failure: WhipcastError, what: string): void {
    const elapsedMs = this.#now() - outage.sinceMs;
    const step = nextStep(failure, { tally: outage.tally, elapsedMs, timeoutMs: this.options.config.reconnectTimeoutMs, random: this.#random });
    if (step.kind === "give-up") {
      if (outage.keep) outage.ending = this.#end(outage.keep, RECONNECT_DELETE_MS);
      const timedOut = this.options.config.reconnectTimeoutMs !== undefined && failure.code !== "refused";
      this.#fail(failure, timedOut ? `not live again within --reconnect-timeout (${seconds(elapsedMs)} after the connection was lost): ${failure.message}` : undefined);
      return;
    }
    const next: Outage = { ...outage, attempt: outage.attempt + 1, tally: step.tally };
    this.#emit({ type: "log", level: "warn", message: `${what} (attempt ${outage.attempt}) failed: ${failure.message}; retrying in ${seconds(step.delayMs)} (attempt ${next.attempt})` });
    this.#wait(next, step.delayMs);
  }

  async #attempt(outage: Outage): Promise<void> {
    if (this.#state.name !== "waiting" || this.#state.outage !== outage) return;
    if (outage.keep) return this.#restart({ ...outage, keep: outage.keep });
    // The old session's DELETE first (bounded): a server that allows one publisher per stream
    // would otherwise see two.
    await bounded(outage.ending, RECONNECT_DELETE_MS);
    if (this.#state.name !== "waiting" || this.#state.outage !== outage) return;
    const session = this.#newSession(false);
    this.#state = { name: "reconnecting", session, outage };
    let failure: WhipcastError;
    try {
      await session.start();
      if (this.#state.name === "reconnecting" && this.#state.session === session) this.#live(session, outage);
      return;
    } catch (error) {
      failure = asWhipcastError(error);
    }
    if (this.#state.name !== "reconnecting" || this.#state.session !== session) return;
    // An attempt the endpoint answered (201) but that never connected is deleted too.
    const ending = this.#end(session, RECONNECT_DELETE_MS);
    this.#retry({ ...outage, ending }, failure, "reconnect");
  }

  /** Stop `session` (DELETE within `deleteMs`); its figures count once, however often this is called. */
  #end(session: WhipSession, deleteMs: number = STOP_BUDGET.deleteMs): Promise<SessionEnd> {
    const ending = session.stop(deleteMs);
    if (!this.#ended.has(session)) {
      this.#ended.add(session);
      void ending.then((end) => this.#add(end.sent));
    }
    return ending;
  }

  /** End the run with `error` (its code decides the exit status), optionally saying more. */
  #fail(error: WhipcastError, message?: string): void {
    this.#emit({ type: "error", error: { ...toPayload(error), ...(message !== undefined ? { message } : {}) } });
  }

  #add(sent: SentSummary): void {
    const s = this.#sent;
    this.#sent = {
      ...sent,
      videoFrames: s.videoFrames + sent.videoFrames,
      audioPackets: s.audioPackets + sent.audioPackets,
      retransmitted: s.retransmitted + sent.retransmitted,
    };
    // The latency percentiles are the latest session's that had any.
    for (const key of ["latencyP50Ms", "latencyP99Ms", "pacingP50Ms", "pacingP99Ms"] as const) if (sent[key] === undefined && s[key] !== undefined) this.#sent[key] = s[key];
  }

  #emit(event: SessionEvent): void {
    this.options.emit(event);
  }
}

function seconds(ms: number): string {
  return `${(ms / 1000).toFixed(1)} s`;
}

function bounded(promise: Promise<unknown>, ms: number): Promise<unknown> {
  return Promise.race([promise.catch(() => {}), Bun.sleep(ms)]);
}

