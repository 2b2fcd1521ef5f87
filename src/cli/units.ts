import { UsageError } from "../errors.ts";

/** `2500k`, `2.5M`, `2500000` → bits per second. */
export function parseBitrate(flag: string, value: string, min: number, max: number): number {
  const m = /^(\d+(?:\.\d+)?)([kKmM]?)$/.exec(value.trim());
  const scale = m ? ({ "": 1, k: 1e3, K: 1e3, m: 1e6, M: 1e6 } as Record<string, number>)[m[2]!]! : 0;
  const bps = m ? Math.round(Number(m[1]) * scale) : Number.NaN;
  if (!Number.isFinite(bps) || bps < min || bps > max) {
    throw new UsageError(`${flag} must be a bitrate from ${formatBitrate(min)} to ${formatBitrate(max)}, like 2500k or 2.5M (got ${value})`);
  }
  return bps;
}

export function formatBitrate(bps: number): string {
  return bps >= 1e6 && bps % 1e5 === 0 ? `${bps / 1e6}M` : `${Math.round(bps / 1e3)}k`;
}

export function parseSize(flag: string, value: string): { width: number; height: number } {
  const m = /^(\d{2,4})x(\d{2,4})$/.exec(value.trim());
  const width = Number(m?.[1]);
  const height = Number(m?.[2]);
  if (!m || width < 16 || height < 16 || width > 7680 || height > 4320 || width % 2 !== 0 || height % 2 !== 0) {
    throw new UsageError(`${flag} must be WIDTHxHEIGHT with even sides from 16x16 to 7680x4320, like 1280x720 (got ${value})`);
  }
  return { width, height };
}

export function parseNumber(flag: string, value: string, min: number, max: number, integer: boolean): number {
  const n = Number(value);
  if (value.trim() === "" || !Number.isFinite(n) || n < min || n > max || (integer && !Number.isInteger(n))) {
    throw new UsageError(`${flag} must be ${integer ? "an integer" : "a number"} from ${min} to ${max} (got ${value})`);
  }
  return n;
}
