import type { EncoderSetting } from "../media/encoder-control.ts";
import type { TransportStats } from "../protocol.ts";

/** Why keyframes were sent, counted (the status line's last field). */
export type KeyframeReason = "start" | "interval" | "PLI" | "FIR" | "queue stale" | "rate";

export interface StatusFigures {
  state: string;
  stats: TransportStats | undefined;
  video?: EncoderSetting;
  keyframes: Partial<Record<KeyframeReason, number>>;
  /** Sessions replaced after a loss so far. */
  reconnects: number;
}

/** `2.41M`, `131k`: short bitrates for a status line. */
export function shortBitrate(bps: number): string {
  return bps >= 1e6 ? `${(bps / 1e6).toFixed(2)}M` : `${Math.round(bps / 1e3)}k`;
}

/**
 * One line that says how the stream is doing: state, sent video and audio rates, the target,
 * the picture, round trip, loss, NACKs answered, and keyframes by reason.
 */
export function formatStatus(f: StatusFigures): string {
  const s = f.stats;
  const parts = [f.state];
  if (s) {
    parts.push(`video ${shortBitrate(s.videoBps)}`, `audio ${shortBitrate(s.audioBps)}`);
    if (s.targetBps !== undefined) parts.push(`target ${shortBitrate(s.targetBps)}`);
  }
  if (f.video) parts.push(`${f.video.width}x${f.video.height}@${f.video.fps}`);
  if (s) {
    parts.push(`rtt ${s.rttMs !== undefined ? `${s.rttMs} ms` : "–"}`);
    if (s.lossPercent !== undefined) parts.push(`loss ${s.lossPercent.toFixed(1)}%`);
    parts.push(`nack ${s.retransmitted}`);
  }
  const reasons = Object.entries(f.keyframes).filter(([, n]) => (n ?? 0) > 0);
  const total = reasons.reduce((n, [, c]) => n + (c ?? 0), 0);
  parts.push(`keyframes ${total}${reasons.length > 0 ? ` (${reasons.map(([r, n]) => `${n} ${r}`).join(", ")})` : ""}`);
  if (f.reconnects > 0) parts.push(`reconnects ${f.reconnects}`);
  return parts.join(" · ");
}

/** The same figures as fields of a stats event (text `key=value` or JSON). */
export function statusFields(f: StatusFigures): Record<string, string | number> {
  const s = f.stats;
  const out: Record<string, string | number> = { state: f.state, reconnects: f.reconnects };
  if (s) {
    out.videoBps = s.videoBps;
    out.audioBps = s.audioBps;
    out.repairBps = s.repairBps;
    if (s.targetBps !== undefined) out.targetBps = s.targetBps;
    if (s.rttMs !== undefined) out.rttMs = s.rttMs;
    if (s.lossPercent !== undefined) out.lossPercent = s.lossPercent;
    out.nacksAnswered = s.retransmitted;
    out.pli = s.pli;
    out.fir = s.fir;
    out.queueMs = s.queueMs;
  }
  if (f.video) {
    out.size = `${f.video.width}x${f.video.height}`;
    out.fps = f.video.fps;
    out.encoderBps = f.video.bitrate;
  }
  for (const [reason, n] of Object.entries(f.keyframes)) out[`keyframes.${reason.replace(" ", "-")}`] = n ?? 0;
  return out;
}

/**
 * The status line on a terminal: rewritten in place, cleared before any other line is printed
 * and drawn again after it, so log lines and the status never mix.
 */
export class StatusLine {
  #text = "";

  constructor(readonly out: { write(s: string): unknown; columns?: number }) {}

  show(text: string): void {
    const width = Math.max(20, (this.out.columns ?? 120) - 1);
    this.#text = text.length > width ? `${text.slice(0, width - 1)}…` : text;
    this.out.write(`\r\x1b[K${this.#text}`);
  }

  /** Print a log line above the status line. */
  print(line: string): void {
    this.out.write(this.#text ? `\r\x1b[K${line}\n${this.#text}` : `${line}\n`);
  }

  clear(): void {
    if (this.#text) this.out.write("\r\x1b[K");
    this.#text = "";
  }
}
