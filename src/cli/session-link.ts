import { fromPayload, InternalError, type WhipcastError } from "../errors.ts";
import type { EncodedAccessUnit } from "../media/video-encoder.ts";
import { type SessionCommand, type SessionConfig, type SessionEvent, type TransportStats, transferable } from "../protocol.ts";
import { STOP_BUDGET } from "../stop-budget.ts";
import { workerUrl } from "../workers.ts";

export type StateEvent = Extract<SessionEvent, { type: "state" }>;
export type StoppedEvent = Extract<SessionEvent, { type: "stopped" }>;
export type KeyframeCause = Extract<SessionEvent, { type: "keyframe-request" }>["cause"];

/** What the session Worker tells the main thread, as calls. */
export interface SessionLinkEvents {
  state(event: StateEvent): void;
  log(level: "debug" | "info" | "warn", message: string): void;
  target(bps: number, reason: string): void;
  keyframeRequest(cause: KeyframeCause): void;
  stats(stats: TransportStats): void;
  /** The run cannot go on (the supervisor gave up, or the Worker itself failed). */
  error(error: WhipcastError): void;
}

/**
 * The main thread's end of the session Worker (src/whip/session.worker.ts), where the
 * SessionSupervisor keeps the run published across lost sessions. One for the run: start it
 * with the session's settings and the Opus packets' port, hand it each access unit (its buffer
 * transferred, not copied), stop it for a clean end.
 */
export class SessionLink {
  readonly #worker = new Worker(workerUrl("whip/session.worker"));
  readonly #stopped: Promise<StoppedEvent>;
  #stopping: Promise<StoppedEvent | undefined> | undefined;

  constructor(readonly events: SessionLinkEvents) {
    this.#stopped = new Promise((resolve) => {
      this.#worker.onmessage = (e: MessageEvent<SessionEvent>) => {
        const ev = e.data;
        switch (ev.type) {
          case "state":
            return events.state(ev);
          case "log":
            return events.log(ev.level, ev.message);
          case "target":
            return events.target(ev.bps, ev.reason);
          case "keyframe-request":
            return events.keyframeRequest(ev.cause);
          case "stats":
            return events.stats(ev.stats);
          case "error":
            return events.error(fromPayload(ev.error));
          case "stopped":
            return resolve(ev);
        }
      };
    });
    this.#worker.onerror = (e) => events.error(new InternalError(`session worker failed: ${e.message}`));
  }

  start(config: SessionConfig, audioInput: MessagePort | null): void {
    this.#post({ type: "start", config, audioInput }, audioInput ? [audioInput] : []);
  }

  video(au: EncodedAccessUnit): void {
    const data = transferable(au.data);
    this.#post({ type: "video", data, captureNs: au.captureNs, keyframe: au.keyframe, receivedNs: au.receivedNs }, [data]);
  }

  /**
   * End the run's publication: the current session is DELETEd, a pending retry cancelled.
   * Resolves with the Worker's summary, or undefined if it did not answer within
   * STOP_BUDGET.sessionMs. Idempotent.
   */
  stop(): Promise<StoppedEvent | undefined> {
    this.#stopping ??= (async () => {
      this.#post({ type: "stop" });
      return Promise.race([this.#stopped, Bun.sleep(STOP_BUDGET.sessionMs).then(() => undefined)]);
    })();
    return this.#stopping;
  }

  close(): void {
    this.#worker.terminate();
  }

  #post(cmd: SessionCommand, transfer: Transferable[] = []): void {
    this.#worker.postMessage(cmd, transfer);
  }
}
