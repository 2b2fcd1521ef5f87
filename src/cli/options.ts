import { existsSync, readFileSync, statSync } from "node:fs";
import { UsageError } from "../errors.ts";
import type { Encoder, Source } from "../media/ffmpeg-args.ts";
import { parseIceServerFlag } from "../whip/ice-server-url.ts";
import type { IceServer } from "../whip/link-header.ts";
import { parseBitrate, parseNumber, parseSize } from "./units.ts";

export const ENCODERS = ["auto", "videotoolbox", "nvenc", "vaapi", "x264"] as const;
export const LOG_FORMATS = ["text", "json"] as const;

/** The publish flags as citty parsed them (strings unvalidated). */
export interface PublishFlags {
  url?: string;
  token?: string;
  "token-file"?: string;
  source: string;
  "video-device"?: string;
  "audio-device"?: string;
  size: string;
  fps: string;
  "video-bitrate": string;
  "min-video-bitrate": string;
  adapt: boolean;
  "stats-interval": string;
  "keyframe-interval": string;
  encoder: string;
  "audio-bitrate": string;
  audio: boolean;
  video: boolean;
  duration?: string;
  loop: boolean;
  ffmpeg?: string;
  "connect-timeout": string;
  reconnect: boolean;
  "reconnect-timeout"?: string;
  lock?: boolean;
  log: string;
  quiet: boolean;
  verbose: boolean;
}

export interface PublishOptions {
  /** The WHIP endpoint; undefined publishes to an embedded server on 127.0.0.1. */
  url: string | undefined;
  token: string | undefined;
  source: Source;
  videoDevice: string | undefined;
  audioDevice: string | undefined;
  width: number;
  height: number;
  fps: number;
  /** The ceiling when adapting; the fixed rate otherwise. */
  videoBitrate: number;
  minVideoBitrate: number;
  adapt: boolean;
  /** Seconds between stats events off a terminal; 0 for none. */
  statsIntervalSeconds: number;
  keyframeIntervalSeconds: number;
  encoder: Encoder | "auto";
  audioBitrate: number;
  video: boolean;
  audio: boolean;
  durationSeconds: number | undefined;
  ffmpeg: string | undefined;
  iceServers: IceServer[];
  timeoutMs: number;
  /** Replace a lost session (default); false ends the run with exit 6 instead. */
  reconnect: boolean;
  /** Give up reconnecting after this long; undefined: never. */
  reconnectTimeoutMs: number | undefined;
  /** Refuse to start while another whipcast on this machine publishes to the same URL. */
  lock: boolean;
  log: "text" | "json";
  verbosity: "quiet" | "normal" | "verbose";
}

function oneOf<T extends string>(flag: string, value: string, allowed: readonly T[]): T {
  if (!(allowed as readonly string[]).includes(value)) throw new UsageError(`${flag} must be one of ${allowed.join(", ")} (got ${value})`);
  return value as T;
}

export function parseSource(value: string, loop: boolean): Source {
  if (value === "camera" || value === "screen" || value === "test") {
    if (loop) throw new UsageError(`--loop applies only to a file source (got --source ${value})`);
    return { kind: value };
  }
  if (!existsSync(value) || !statSync(value).isFile()) {
    throw new UsageError(`--source must be camera, screen, test or a media file (no such file: ${value})`);
  }
  return { kind: "file", path: value, loop };
}

/** `WHIP_URL`-style endpoint checks: absolute http(s) only. */
export function parseEndpoint(value: string, from: string): string {
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    throw new UsageError(`${from} is not a URL; expected https://host/path`);
  }
  if (url.protocol !== "https:" && url.protocol !== "http:") throw new UsageError(`${from} must be an http or https URL (got ${url.protocol})`);
  return url.href;
}

export function resolveToken(flags: Pick<PublishFlags, "token" | "token-file">, env: Record<string, string | undefined>): string | undefined {
  if (flags.token !== undefined && flags["token-file"] !== undefined) throw new UsageError("--token and --token-file are mutually exclusive");
  if (flags.token !== undefined) {
    if (flags.token.trim() === "") throw new UsageError("--token is empty");
    return flags.token.trim();
  }
  const file = flags["token-file"];
  if (file !== undefined) {
    let text: string;
    try {
      text = readFileSync(file, "utf8");
    } catch (error) {
      throw new UsageError(`--token-file ${file}: ${(error as NodeJS.ErrnoException).code === "ENOENT" ? "no such file" : "cannot read it"}`);
    }
    const token = text.trim();
    if (token === "" || /\s/.test(token)) throw new UsageError(`--token-file ${file} must hold one token on one line`);
    return token;
  }
  const fromEnv = env.WHIP_TOKEN?.trim();
  return fromEnv ? fromEnv : undefined;
}

/** Validate every publish flag; the first bad one throws a UsageError naming it. */
export function resolvePublishOptions(flags: PublishFlags, iceFlags: string[], env: Record<string, string | undefined>): PublishOptions {
  const rawUrl = flags.url ?? (env.WHIP_URL?.trim() || undefined);
  const url = rawUrl === undefined ? undefined : parseEndpoint(rawUrl, flags.url !== undefined ? "URL" : "WHIP_URL");
  const { width, height } = parseSize("--size", flags.size);
  const video = flags.video;
  const audio = flags.audio;
  if (!video && !audio) throw new UsageError("--no-video and --no-audio together leave nothing to publish");
  const duration = flags.duration === undefined ? undefined : parseNumber("--duration", flags.duration, 0.1, 31 * 24 * 3600, false);
  const videoBitrate = parseBitrate("--video-bitrate", flags["video-bitrate"], 100_000, 50_000_000);
  const minVideoBitrate = parseBitrate("--min-video-bitrate", flags["min-video-bitrate"], 50_000, 50_000_000);
  if (minVideoBitrate > videoBitrate) throw new UsageError(`--min-video-bitrate (${flags["min-video-bitrate"]}) is above --video-bitrate (${flags["video-bitrate"]})`);
  return {
    url,
    token: resolveToken(flags, env),
    source: parseSource(flags.source, flags.loop),
    videoDevice: flags["video-device"],
    audioDevice: flags["audio-device"],
    width,
    height,
    fps: parseNumber("--fps", flags.fps, 1, 120, true),
    videoBitrate,
    minVideoBitrate,
    adapt: flags.adapt,
    statsIntervalSeconds: parseNumber("--stats-interval", flags["stats-interval"], 0, 3600, false),
    keyframeIntervalSeconds: parseNumber("--keyframe-interval", flags["keyframe-interval"], 0.1, 60, false),
    encoder: oneOf("--encoder", flags.encoder, ENCODERS),
    audioBitrate: parseBitrate("--audio-bitrate", flags["audio-bitrate"], 6_000, 510_000),
    video,
    audio,
    durationSeconds: duration,
    ffmpeg: flags.ffmpeg,
    iceServers: iceFlags.map(parseIceServerFlag),
    timeoutMs: parseNumber("--connect-timeout", flags["connect-timeout"], 1, 300, false) * 1000,
    reconnect: flags.reconnect,
    reconnectTimeoutMs: reconnectTimeout(flags),
    lock: flags.lock ?? true,
    log: oneOf("--log", flags.log, LOG_FORMATS),
    verbosity: flags.quiet ? "quiet" : flags.verbose ? "verbose" : "normal",
  };
}

function reconnectTimeout(flags: PublishFlags): number | undefined {
  const raw = flags["reconnect-timeout"];
  if (raw === undefined) return undefined;
  if (!flags.reconnect) throw new UsageError("--reconnect-timeout has no effect with --no-reconnect; give one or the other");
  return parseNumber("--reconnect-timeout", raw, 1, 31 * 24 * 3600, false) * 1000;
}

/** Every value given to a repeatable `--name` (`--name v` and `--name=v`). */
export function repeatedFlag(rawArgs: string[], name: string): string[] {
  const out: string[] = [];
  for (let i = 0; i < rawArgs.length; i++) {
    const a = rawArgs[i]!;
    if (a === `--${name}`) {
      const v = rawArgs[i + 1];
      if (v === undefined || v.startsWith("--")) throw new UsageError(`--${name} needs a value`);
      out.push(v);
      i++;
    } else if (a.startsWith(`--${name}=`)) out.push(a.slice(name.length + 3));
  }
  return out;
}
