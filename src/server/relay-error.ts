/**
 * Why the relay refused a request, in the relay's own terms. Only the HTTP layer (http.ts)
 * turns a refusal into a status code and a problem+json title.
 */
export type RelayRefusal =
  | "malformed-offer"
  | "no-usable-media"
  | "stream-live"
  | "no-such-stream"
  | "no-such-session"
  | "too-many-viewers"
  | "too-many-pending"
  | "if-match-required"
  | "malformed-sdpfrag"
  | "etag-mismatch"
  | "restart-needs-credentials"
  | "restart-needs-if-match-star"
  | "not-an-ice-restart"
  | "ice-restart-failed";

export class RelayError extends Error {
  constructor(
    readonly refusal: RelayRefusal,
    readonly detail: string,
    /** Seconds after which the same request may succeed (a full stream, too many pending). */
    readonly retryAfterSeconds?: number,
  ) {
    super(detail);
    this.name = "RelayError";
  }
}
