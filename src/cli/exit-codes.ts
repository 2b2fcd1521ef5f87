import type { ErrorCode } from "../errors.ts";

/** The one table from error codes to exit statuses (README: "Exit codes"). */
export const EXIT_STATUS: Record<ErrorCode, number> = {
  usage: 2,
  refused: 3,
  unreachable: 4,
  media: 5,
  connection: 6,
  busy: 7,
  service: 8,
  internal: 1,
};

export const EXIT_OK = 0;
/** An error whipcast did not anticipate (a bug): still one line, never a stack trace. */
export const EXIT_INTERNAL = EXIT_STATUS.internal;
/** A second Ctrl+C: leave at once, as shells expect (128 + SIGINT). */
export const EXIT_INTERRUPTED = 130;
