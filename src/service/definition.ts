/**
 * A publish run as the system's service manager keeps it: what to run, under which name, and
 * where its log goes. launchd.ts and systemd.ts write it in their manager's own format.
 */
export interface ServiceDefinition {
  /** The user's name for it (`whipcast service install NAME`). */
  name: string;
  /** The whole command line: the whipcast executable (or bun and main.ts) and publish's arguments. */
  argv: string[];
  /** stdout and stderr, appended. */
  logPath: string;
  /** Where the run starts: the user's home, so no path depends on where install ran. */
  workingDirectory: string;
}

/** Letters, digits and `. _ -`: safe in a launchd label, a systemd unit name and a file name. */
export const SERVICE_NAME = /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/;

/**
 * Exit statuses that a restart would only repeat (README, "Exit codes"): a bad flag (2), an
 * endpoint that refused the stream or the token (3), another publisher to the same endpoint (7).
 */
export const NO_RESTART_STATUSES = [2, 3, 7] as const;

/** Seconds between restarts after a failure: a dead endpoint is not hammered. */
export const RESTART_THROTTLE_SECONDS = 10;
