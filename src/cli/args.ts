import type { ArgsDef } from "citty";
import { ENCODERS, LOG_FORMATS } from "./options.ts";

/**
 * Every command's flags, as data: main.ts builds the citty commands from them, the shell
 * completions are generated from them, and the tests hold the Homebrew formula and the service
 * definitions to them (a flag named there must exist here).
 */
export const publishArgs = {
  url: { type: "positional", required: false, description: "WHIP endpoint URL (or set WHIP_URL); none: publish to a built-in server on 127.0.0.1", valueHint: "URL" },
  config: { type: "string", description: "Read settings from a file: one `flag = value` per line (flags given here win)", valueHint: "PATH" },
  token: { type: "string", description: "Bearer token for the endpoint (or WHIP_TOKEN)" },
  "token-file": { type: "string", description: "Read the bearer token from a file", valueHint: "PATH" },
  source: { type: "string", default: "camera", description: "camera, screen, test, or a media file", valueHint: "camera|screen|test|FILE" },
  "video-device": { type: "string", description: "Camera or screen to capture (see `whipcast devices`)" },
  "audio-device": { type: "string", description: "Microphone to capture (see `whipcast devices`)" },
  size: { type: "string", default: "1280x720", description: "Video size", valueHint: "WxH" },
  fps: { type: "string", default: "30", description: "Frames per second" },
  "video-bitrate": { type: "string", default: "2500k", description: "H.264 bitrate: the ceiling when adapting, else the fixed rate" },
  "min-video-bitrate": { type: "string", default: "150k", description: "The lowest video bitrate adaptation goes to" },
  adapt: { type: "boolean", default: true, description: "Follow the network: bitrate, size and frame rate adapt to the path", negativeDescription: "Send at a fixed --video-bitrate" },
  "stats-interval": { type: "string", default: "10", description: "Seconds between stats lines when not on a terminal (0: none)", valueHint: "SECONDS" },
  "keyframe-interval": { type: "string", default: "2", description: "Seconds between keyframes" },
  encoder: { type: "string", default: "auto", description: `H.264 encoder: ${ENCODERS.join(", ")}` },
  "audio-bitrate": { type: "string", default: "128k", description: "Opus bitrate" },
  audio: { type: "boolean", default: true, description: "Publish audio", negativeDescription: "Publish video only" },
  video: { type: "boolean", default: true, description: "Publish video", negativeDescription: "Publish audio only" },
  duration: { type: "string", description: "Stop cleanly after this many seconds", valueHint: "SECONDS" },
  loop: { type: "boolean", default: false, description: "Loop a file source" },
  ffmpeg: { type: "string", description: "ffmpeg binary (or WHIPCAST_FFMPEG)", valueHint: "PATH" },
  "ice-server": { type: "string", description: "STUN/TURN server, repeatable: stun:HOST:PORT, turn:USER:PASS@HOST:PORT", valueHint: "URL" },
  "connect-timeout": { type: "string", default: "10", description: "Seconds to wait for the endpoint to answer", valueHint: "SECONDS" },
  reconnect: { type: "boolean", default: true, description: "Reconnect by itself when the session is lost", negativeDescription: "End with exit 6 when the session is lost" },
  "reconnect-timeout": { type: "string", description: "Give up reconnecting after this long (default: never)", valueHint: "SECONDS" },
  lock: { type: "boolean", default: true, description: "One publisher per endpoint on this machine: a second exits with status 7", negativeDescription: "Allow several publishers to one endpoint" },
  log: { type: "string", default: "text", description: "Log format: text or json" },
  quiet: { type: "boolean", default: false, description: "Print errors only" },
  verbose: { type: "boolean", default: false, description: "Print debug detail" },
} as const satisfies ArgsDef;

export const serveArgs = {
  host: { type: "string", default: "127.0.0.1", description: "Address to listen on", valueHint: "ADDRESS" },
  port: { type: "string", default: "8080", description: "Port to listen on (0: any free port)" },
  token: { type: "string", description: "Bearer token publishers must send (generated when --host is not loopback)" },
  "viewer-token": { type: "string", description: "Bearer token viewers must send (viewing is open without it)" },
  "max-viewers": { type: "string", default: "50", description: "Viewers per stream" },
  "ice-server": { type: "string", description: "STUN/TURN server to use and advertise, repeatable", valueHint: "URL" },
  log: { type: "string", default: "text", description: "Log format: text or json" },
  quiet: { type: "boolean", default: false, description: "Print errors only" },
  verbose: { type: "boolean", default: false, description: "Print debug detail" },
} as const satisfies ArgsDef;

export const devicesArgs = {
  ffmpeg: { type: "string", description: "ffmpeg binary (or WHIPCAST_FFMPEG)", valueHint: "PATH" },
  json: { type: "boolean", default: false, description: "Print JSON" },
} as const satisfies ArgsDef;

export const checkArgs = {
  url: { type: "positional", required: false, description: "WHIP endpoint URL (or set WHIP_URL)", valueHint: "URL" },
  token: { type: "string", description: "Bearer token for the endpoint (or WHIP_TOKEN)" },
  "token-file": { type: "string", description: "Read the bearer token from a file", valueHint: "PATH" },
  "ice-server": { type: "string", description: "STUN/TURN server, repeatable: stun:HOST:PORT, turn:USER:PASS@HOST:PORT", valueHint: "URL" },
  "connect-timeout": { type: "string", default: "10", description: "Seconds to wait for each answer and for ICE/DTLS", valueHint: "SECONDS" },
  log: { type: "string", default: "text", description: "Output: text (one line per step) or json (one object)" },
} as const satisfies ArgsDef;

export const doctorArgs = {
  ffmpeg: { type: "string", description: "ffmpeg binary (or WHIPCAST_FFMPEG)", valueHint: "PATH" },
  stun: { type: "string", description: "Also test UDP to this STUN server (nothing is contacted without it)", valueHint: "stun:HOST:PORT" },
  log: { type: "string", default: "text", description: "Output: text (one line per finding) or json (one object)" },
} as const satisfies ArgsDef;

export const serviceInstallArgs = {
  name: { type: "positional", required: true, description: "Service name (letters, digits, . _ -)", valueHint: "NAME" },
} as const satisfies ArgsDef;

export const serviceNameArgs = {
  name: { type: "positional", required: true, description: "Service name", valueHint: "NAME" },
} as const satisfies ArgsDef;

export const completionsArgs = {
  shell: { type: "positional", required: true, description: "bash, zsh or fish", valueHint: "SHELL" },
} as const satisfies ArgsDef;

export const SHELLS = ["bash", "zsh", "fish"] as const;

/** A command as data: its flags, or its subcommands. */
export interface CommandSpec {
  name: string;
  description: string;
  args?: ArgsDef;
  /** Fixed values a flag takes, for completion. */
  values?: Record<string, readonly string[]>;
  /** Flags that name a file. */
  files?: readonly string[];
  subCommands?: CommandSpec[];
}

export const COMMANDS: CommandSpec[] = [
  {
    name: "publish",
    description: "Stream a camera, screen, file or test pattern to a WHIP endpoint",
    args: publishArgs,
    values: { source: ["camera", "screen", "test"], encoder: ENCODERS, log: LOG_FORMATS },
    files: ["config", "token-file", "ffmpeg", "source"],
  },
  { name: "serve", description: "Run a WHIP ingest and WHEP playback server with a browser viewer", args: serveArgs, values: { log: LOG_FORMATS } },
  { name: "devices", description: "List cameras, microphones and screens as ffmpeg sees them", args: devicesArgs, files: ["ffmpeg"] },
  { name: "check", description: "Diagnose a WHIP endpoint: signalling, codecs, ICE and DTLS, then delete the session", args: checkArgs, values: { log: LOG_FORMATS }, files: ["token-file"] },
  { name: "doctor", description: "What this machine can do: ffmpeg, H.264 encoders, devices, UDP, clock", args: doctorArgs, values: { log: LOG_FORMATS }, files: ["ffmpeg"] },
  {
    name: "service",
    description: "Run a publish as a launchd agent (macOS) or systemd user service (Linux)",
    subCommands: [
      { name: "install", description: "Write and start a service: whipcast service install NAME -- publish URL [flags]", args: serviceInstallArgs },
      { name: "uninstall", description: "Stop and remove a service", args: serviceNameArgs },
      { name: "status", description: "Whether a service runs, its restarts and its last log line", args: serviceNameArgs },
    ],
  },
  { name: "completions", description: "Print a shell completion script (bash, zsh or fish)", args: completionsArgs, values: { shell: SHELLS } },
];
