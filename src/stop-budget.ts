/**
 * How long each part of a clean stop may take, in one place. The README promises that Ctrl+C,
 * SIGTERM or --duration end a publish within 2 s: the steps run one after another (cleanup
 * order, src/cli/publish.ts), so their budgets add up to that. Each is a ceiling, never a wait:
 * a healthy endpoint answers a DELETE in milliseconds.
 */
export const STOP_BUDGET = {
  /** The whole stop, start to exit. */
  totalMs: 2_000,
  /** ffmpeg after its stdin closes and SIGTERM, before SIGKILL. */
  ffmpegGraceMs: 300,
  /** A POST still in flight may be creating the session: it may land, so it can be deleted. */
  postLandingMs: 500,
  /** The WHIP DELETE (RFC 9725 §4.3). */
  deleteMs: 900,
  /** The session Worker's whole stop (POST landing, DELETE, peer close), then it is terminated. */
  sessionMs: 1_500,
  /** The embedded server, after the DELETE has reached it. */
  embeddedServerMs: 200,
  /** `whipcast serve` closing every session on SIGTERM. */
  serverMs: 1_800,
} as const;

/**
 * While reconnecting, the old session is deleted best-effort (the endpoint may be what failed):
 * this long at most, so the new POST is not held up.
 */
export const RECONNECT_DELETE_MS = 1_000;
