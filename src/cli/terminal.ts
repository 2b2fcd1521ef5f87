import { stripVTControlCharacters } from "node:util";

/**
 * Colour and other terminal control codes only where a person reads a terminal: the stream is a
 * TTY, `NO_COLOR` is unset or empty (https://no-color.org), and `TERM` is not `dumb`. A pipe, a
 * log file, cron's mail and launchd's or systemd's log all get plain text.
 */
export function styled(stream: { isTTY?: boolean }, env: Record<string, string | undefined> = process.env): boolean {
  return stream.isTTY === true && !env.NO_COLOR && env.TERM !== "dumb";
}

/** Text as it may be written to `stream`: control codes removed where they are not wanted. */
export function forStream(text: string, stream: { isTTY?: boolean }, env: Record<string, string | undefined> = process.env): string {
  return styled(stream, env) ? text : stripVTControlCharacters(text);
}

export type Mark = "ok" | "fail" | "warn" | "info";

const GLYPH: Record<Mark, string> = { ok: "✓", fail: "✗", warn: "⚠", info: "·" };
const COLOUR: Record<Mark, number> = { ok: 32, fail: 31, warn: 33, info: 90 };

/** The ✓ ✗ ⚠ of `check` and `doctor`, in colour where allowed. */
export function mark(m: Mark, colour: boolean): string {
  return colour ? `\x1b[${COLOUR[m]}m${GLYPH[m]}\x1b[39m` : GLYPH[m];
}

export function dim(text: string, colour: boolean): string {
  return colour ? `\x1b[2m${text}\x1b[22m` : text;
}

/** One finding of `check` or `doctor`: mark, what it is about, what was found, and what to do when it is not right. */
export function reportLine(result: Mark, topic: string, message: string, hint: string | undefined, colour: boolean): string {
  return `${mark(result, colour)} ${topic.padEnd(13)}${message}${hint ? dim(` — ${hint}`, colour) : ""}`;
}
