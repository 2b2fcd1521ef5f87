/**
 * Is the endpoint still there? Judged from what arrives from it, sampled about once a second.
 * Pure: the caller reads the counters (src/rtc/path-activity.ts) and the clock.
 *
 * werift has no "disconnected" state: a dead path reads "connected" for 30 s, until consent
 * expires (RFC 7675 §5.1). Every endpoint whipcast targets sends RTCP at least once a second
 * (receiver reports, RFC 3550 §6.2; TWCC feedback every 50–100 ms), so 5 s with nothing from it
 * — no RTCP, no DTLS, no answer to our consent checks — is a dead session. An endpoint that has
 * never sent RTCP is judged by consent answers alone (a check each 4–6 s): two missed, 12 s.
 * When the kernel reports our datagrams unreachable (ICMP port unreachable: the server process
 * is gone, or restarted on new ports) 2 s of silence is enough.
 */
export interface PathActivity {
  /** Everything received from the endpoint on the selected path so far (datagrams and STUN). */
  received: number;
  /**
   * Packets the endpoint sends steadily, received so far: RTCP from a WHIP endpoint or WHEP
   * viewer, media from a publisher. Once any has arrived, 5 s without anything is death.
   */
  steady: number;
  /** Sends the kernel reported as unreachable (ICMP) so far. */
  unreachable: number;
  /** The peer connection's state. */
  state: string;
}

export interface LivenessOptions {
  silentMs: number;
  quietEndpointMs: number;
  unreachableMs: number;
}

export const LIVENESS: LivenessOptions = { silentMs: 5_000, quietEndpointMs: 12_000, unreachableMs: 2_000 };

/** The reason given when the endpoint closed the connection (DTLS close): nothing to restart. */
export const CLOSED_BY_ENDPOINT = "the endpoint closed the connection";

export type Verdict = { alive: true } | { alive: false; reason: string };

export class Liveness {
  #last: PathActivity | undefined;
  #heardAt: number;
  #unreachableAt: number | undefined;

  constructor(
    nowMs: number,
    /** What is missing when a steady sender goes quiet: "no RTCP", "no media". */
    readonly steadyName = "no RTCP",
    readonly options: LivenessOptions = LIVENESS,
  ) {
    this.#heardAt = nowMs;
  }

  /** Judge afresh from `nowMs` (after an ICE restart connected). */
  reset(nowMs: number): void {
    this.#heardAt = nowMs;
    this.#unreachableAt = undefined;
  }

  /** How long nothing has been heard, as of the latest sample (0 before any). */
  silentMs(nowMs: number): number {
    return this.#last ? nowMs - this.#heardAt : 0;
  }

  /** Take one sample; the verdict says whether the session is still alive, and if not, why. */
  observe(sample: PathActivity, nowMs: number): Verdict {
    const last = this.#last;
    this.#last = sample;
    if (sample.state === "failed") return { alive: false, reason: "ICE failed" };
    if (sample.state === "closed") return { alive: false, reason: CLOSED_BY_ENDPOINT };
    if (!last || sample.received > last.received) {
      this.#heardAt = nowMs;
      this.#unreachableAt = undefined;
    }
    if (last && sample.unreachable > last.unreachable) this.#unreachableAt ??= nowMs;
    const silent = nowMs - this.#heardAt;
    const o = this.options;
    if (this.#unreachableAt !== undefined && silent >= o.unreachableMs) return { alive: false, reason: `endpoint unreachable, nothing from it for ${seconds(silent)}` };
    if (sample.steady > 0 && silent >= o.silentMs) return { alive: false, reason: `${this.steadyName} for ${seconds(silent)}` };
    if (silent >= o.quietEndpointMs) return { alive: false, reason: `no answer to ICE consent checks for ${seconds(silent)}` };
    return { alive: true };
  }
}

function seconds(ms: number): string {
  return `${Math.round(ms / 1000)} s`;
}
