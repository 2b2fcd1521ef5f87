import { Redactor } from "../redact.ts";

export type Level = "debug" | "info" | "warn" | "error";
const RANK: Record<Level, number> = { debug: 0, info: 1, warn: 2, error: 3 };

/**
 * Every line whipcast prints goes through here: one line per event, on stderr, as text or JSON,
 * scrubbed of every registered secret.
 */
export class Logger {
  readonly redactor = new Redactor();
  readonly #min: number;

  constructor(
    readonly format: "text" | "json" = "text",
    verbosity: "quiet" | "normal" | "verbose" = "normal",
    readonly write: (line: string) => void = (line) => process.stderr.write(`${line}\n`),
  ) {
    this.#min = RANK[verbosity === "quiet" ? "error" : verbosity === "verbose" ? "debug" : "info"];
  }

  log(level: Level, message: string, fields: Record<string, string | number | boolean> = {}): void {
    if (RANK[level] < this.#min) return;
    const msg = this.redactor.scrub(message.replace(/\s*\n\s*/g, " "));
    if (this.format === "json") {
      const scrubbed = Object.fromEntries(Object.entries(fields).map(([k, v]) => [k, typeof v === "string" ? this.redactor.scrub(v) : v]));
      this.write(JSON.stringify({ time: new Date().toISOString(), level, msg, ...scrubbed }));
    } else {
      const extra = Object.entries(fields)
        .map(([k, v]) => ` ${k}=${typeof v === "string" ? this.redactor.scrub(v) : v}`)
        .join("");
      this.write(`whipcast: ${level === "info" ? "" : `${level}: `}${msg}${extra}`);
    }
  }

  debug(message: string, fields?: Record<string, string | number | boolean>): void {
    this.log("debug", message, fields);
  }
  info(message: string, fields?: Record<string, string | number | boolean>): void {
    this.log("info", message, fields);
  }
  warn(message: string, fields?: Record<string, string | number | boolean>): void {
    this.log("warn", message, fields);
  }
  error(message: string, fields?: Record<string, string | number | boolean>): void {
    this.log("error", message, fields);
  }
}
