import { ConnectionError, EndpointRefusedError, EndpointUnreachableError, type WhipcastError } from "../errors.ts";

/**
 * When a live session is lost, what to do next: try again after some delay, or give up. Pure:
 * the caller passes the failure, the tally so far and its randomness.
 *
 * Two kinds of failed attempt are counted apart:
 * - **endpoint failures:** no session was created (unreachable, 5xx, 404 while the server is
 *   still starting, 409 while it still holds the old session). These back off exponentially
 *   with jitter, 0.5 s doubling up to a 30 s cap, so a fleet of publishers does not hammer a
 *   server that is coming back.
 * - **path failures:** the endpoint answered 201 but ICE or DTLS did not connect (UDP blocked,
 *   the path down). The endpoint is demonstrably up and each attempt already spent its ICE
 *   checks (~2 s), so these retry on a short schedule (0.5 s, then 1 s): the stream is
 *   back within a few seconds of the path, not up to 30 s later.
 *
 * Never retried: 401/403 (a wrong key stays wrong), other 4xx (the endpoint rejects what we
 * send), and anything that is not a network or endpoint failure.
 */
export const BACKOFF_START_MS = 500;
export const ENDPOINT_BACKOFF_CAP_MS = 30_000;
export const PATH_BACKOFF_CAP_MS = 1_000;
/** The longest Retry-After honoured as it is; a longer one waits this long and tries anyway. */
export const RETRY_AFTER_CAP_MS = 5 * 60_000;

/** Statuses that mean "not now" rather than "no" (RFC 9110 §15.5: 404, 408, 409, 425, 429). */
const RETRYABLE_4XX = new Set([404, 408, 409, 425, 429]);

export interface ReconnectTally {
  endpointFailures: number;
  pathFailures: number;
}

export type ReconnectStep = { kind: "retry"; delayMs: number; tally: ReconnectTally } | { kind: "give-up"; error: WhipcastError };

/** Exponential backoff with "equal jitter": uniformly between half and all of 0.5 s × 2^(n−1), capped. */
export function backoffMs(failures: number, capMs: number, random: () => number): number {
  const full = Math.min(capMs, BACKOFF_START_MS * 2 ** Math.max(0, failures - 1));
  return Math.round(full / 2 + (random() * full) / 2);
}

export interface ReconnectContext {
  tally: ReconnectTally;
  /** ms since the session was lost. */
  elapsedMs: number;
  /** --reconnect-timeout in ms; undefined retries forever. */
  timeoutMs: number | undefined;
  random: () => number;
}

/** The next step after `error` ended a reconnect attempt. */
export function nextStep(error: WhipcastError, ctx: ReconnectContext): ReconnectStep {
  const kind = failureKind(error);
  if (kind === "fatal") return { kind: "give-up", error };
  const tally = kind === "path" ? { ...ctx.tally, pathFailures: ctx.tally.pathFailures + 1 } : { endpointFailures: ctx.tally.endpointFailures + 1, pathFailures: 0 };
  const backoff = kind === "path" ? backoffMs(tally.pathFailures, PATH_BACKOFF_CAP_MS, ctx.random) : backoffMs(tally.endpointFailures, ENDPOINT_BACKOFF_CAP_MS, ctx.random);
  const retryAfter = (error as { retryAfterMs?: number }).retryAfterMs;
  // RFC 9110 §10.2.3: the endpoint said when; that wins over our own schedule.
  const delayMs = retryAfter !== undefined ? Math.min(retryAfter, RETRY_AFTER_CAP_MS) : backoff;
  if (ctx.timeoutMs !== undefined && ctx.elapsedMs + delayMs >= ctx.timeoutMs) return { kind: "give-up", error };
  return { kind: "retry", delayMs, tally };
}

/** The first retry after a session is lost: soon, with jitter (0.25–0.5 s). */
export function firstDelayMs(random: () => number): number {
  return backoffMs(1, ENDPOINT_BACKOFF_CAP_MS, random);
}

function failureKind(error: WhipcastError): "endpoint" | "path" | "fatal" {
  if (error instanceof ConnectionError) return "path";
  if (error instanceof EndpointUnreachableError) return "endpoint";
  if (error instanceof EndpointRefusedError) return error.status !== undefined && RETRYABLE_4XX.has(error.status) ? "endpoint" : "fatal";
  return "fatal";
}
