/**
 * The few error classes whipcast raises on purpose. Each carries a code; the CLI maps codes to
 * exit statuses in one table (src/cli/exit-codes.ts). Messages are one line, name the value that
 * was wrong, and never contain a secret (callers pass values through the redactor first).
 */
export type ErrorCode = "usage" | "refused" | "unreachable" | "media" | "connection" | "busy" | "service" | "internal";

export class WhipcastError extends Error {
  constructor(
    readonly code: ErrorCode,
    message: string,
  ) {
    super(message);
    this.name = new.target.name;
  }
}

/** A flag, environment variable or input file the user must fix. */
export class UsageError extends WhipcastError {
  constructor(message: string) {
    super("usage", message);
  }
}

/** The WHIP endpoint answered with a 4xx, or with an answer we cannot use. */
export class EndpointRefusedError extends WhipcastError {
  constructor(
    message: string,
    readonly status?: number,
    /** The endpoint's Retry-After (429), ms. */
    readonly retryAfterMs?: number,
  ) {
    super("refused", message);
  }
}

/** The WHIP endpoint could not be reached, timed out, or kept failing with 5xx. */
export class EndpointUnreachableError extends WhipcastError {
  constructor(
    message: string,
    readonly status?: number,
    /** The endpoint's Retry-After (503), ms. */
    readonly retryAfterMs?: number,
  ) {
    super("unreachable", message);
  }
}

/** ffmpeg is missing, exited, or could not open the source. */
export class MediaError extends WhipcastError {
  constructor(message: string) {
    super("media", message);
  }
}

/** ICE or DTLS did not connect, or the connection failed mid-stream. */
export class ConnectionError extends WhipcastError {
  constructor(message: string) {
    super("connection", message);
  }
}

/** Another whipcast already publishes to this endpoint from this machine (the run lock). */
export class StreamBusyError extends WhipcastError {
  constructor(message: string) {
    super("busy", message);
  }
}

/** launchd or systemd refused to load, start or stop a service. */
export class ServiceError extends WhipcastError {
  constructor(message: string) {
    super("service", message);
  }
}

/**
 * Anything whipcast did not anticipate, on whichever thread it happened: a bug, reported as one
 * line with exit status 1, never as a stack trace and never disguised as a network failure.
 */
export class InternalError extends WhipcastError {
  constructor(message: string) {
    super("internal", message);
  }
}

/** Any thrown value as a WhipcastError: one of ours as it is, anything else as an InternalError. */
export function asWhipcastError(error: unknown): WhipcastError {
  if (error instanceof WhipcastError) return error;
  return new InternalError(`unexpected error: ${firstLine(error instanceof Error ? error.message : String(error)) || "(no message)"}`);
}

/** Serializable form, for errors that cross a Worker boundary. */
export interface ErrorPayload {
  code: ErrorCode;
  message: string;
  status?: number;
  retryAfterMs?: number;
}

export function toPayload(error: unknown): ErrorPayload {
  const e = asWhipcastError(error);
  const { status, retryAfterMs } = e as { status?: number; retryAfterMs?: number };
  return { code: e.code, message: e.message, ...(status !== undefined ? { status } : {}), ...(retryAfterMs !== undefined ? { retryAfterMs } : {}) };
}

export function fromPayload(payload: ErrorPayload): WhipcastError {
  switch (payload.code) {
    case "usage":
      return new UsageError(payload.message);
    case "refused":
      return new EndpointRefusedError(payload.message, payload.status, payload.retryAfterMs);
    case "unreachable":
      return new EndpointUnreachableError(payload.message, payload.status, payload.retryAfterMs);
    case "media":
      return new MediaError(payload.message);
    case "connection":
      return new ConnectionError(payload.message);
    case "busy":
      return new StreamBusyError(payload.message);
    case "service":
      return new ServiceError(payload.message);
    case "internal":
      return new InternalError(payload.message);
  }
}

export function firstLine(text: string): string {
  return (text.split("\n").find((l) => l.trim() !== "") ?? "").trim();
}
