#!/usr/bin/env bun
import { type ArgsDef, type CommandDef, defineCommand, renderUsage, runCommand } from "citty";
import pkg from "../../package.json" with { type: "json" };
import { UsageError, WhipcastError } from "../errors.ts";
import { formatDeviceList, listDevices } from "../media/devices.ts";
import { locateFfmpeg } from "../media/ffmpeg-locate.ts";
import { EXIT_INTERNAL, EXIT_INTERRUPTED, EXIT_OK, EXIT_STATUS } from "./exit-codes.ts";
import { Logger } from "./log.ts";
import { ENCODERS, type PublishFlags, repeatedFlag, resolvePublishOptions } from "./options.ts";
import { startPublish } from "./publish.ts";
import { StatusLine } from "./status-line.ts";
import { resolveServeOptions, type ServeFlags, startServerWorker } from "./serve.ts";

const publishArgs = {
  url: { type: "positional", required: false, description: "WHIP endpoint URL (or set WHIP_URL); none: publish to a built-in server on 127.0.0.1", valueHint: "URL" },
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
  log: { type: "string", default: "text", description: "Log format: text or json" },
  quiet: { type: "boolean", default: false, description: "Print errors only" },
  verbose: { type: "boolean", default: false, description: "Print debug detail" },
} as const satisfies ArgsDef;

/** Set by the command that ran; read once citty returns. */
let exitStatus = EXIT_OK;

const publish = defineCommand({
  meta: { name: "publish", description: "Stream a camera, screen, file or test pattern to a WHIP endpoint" },
  args: publishArgs,
  async run({ args, rawArgs }) {
    rejectUnknownFlags(rawArgs, publishArgs);
    const opts = resolvePublishOptions(args as unknown as PublishFlags, repeatedFlag(rawArgs, "ice-server"), process.env);
    // On a terminal, one status line rewritten each second; log lines print above it.
    const statusLine = process.stderr.isTTY && opts.log === "text" && opts.verbosity !== "quiet" ? new StatusLine(process.stderr) : undefined;
    const log = new Logger(opts.log, opts.verbosity, statusLine ? (line) => statusLine.print(line) : undefined);
    const run = startPublish(opts, log, statusLine ? { statusLine } : {});
    let interrupts = 0;
    const onSignal = (signal: NodeJS.Signals) => {
      if (signal === "SIGINT" && ++interrupts > 1) {
        log.warn("interrupted again; exiting without cleanup");
        process.exit(EXIT_INTERRUPTED);
      }
      run.stop(signal);
    };
    process.on("SIGINT", onSignal);
    process.on("SIGTERM", onSignal);
    const error = await run.done;
    statusLine?.clear();
    process.off("SIGINT", onSignal);
    process.off("SIGTERM", onSignal);
    if (error) {
      log.error(error.message);
      exitStatus = EXIT_STATUS[error.code];
    } else log.info("stopped");
  },
});

const serveArgs = {
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

const serve = defineCommand({
  meta: { name: "serve", description: "Run a WHIP ingest and WHEP playback server with a browser viewer" },
  args: serveArgs,
  async run({ args, rawArgs }) {
    rejectUnknownFlags(rawArgs, serveArgs);
    const opts = resolveServeOptions(args as unknown as ServeFlags, repeatedFlag(rawArgs, "ice-server"));
    const log = new Logger(opts.log, opts.verbosity);
    log.redactor.add(opts.config.viewerToken);
    const server = await startServerWorker(opts.config, log);
    if (opts.generatedToken) {
      // Shown once, on stdout, so a script can capture it; never logged.
      process.stdout.write(`publish token (generated; pass --token to choose one): ${opts.config.token}\n`);
    }
    log.redactor.add(opts.config.token);
    log.info(`serving on ${server.origin} (publish to ${server.origin}/whip/NAME, watch at ${server.origin}/)`);
    const signal = await new Promise<NodeJS.Signals>((resolve) => {
      process.once("SIGINT", resolve);
      process.once("SIGTERM", resolve);
    });
    log.info(`${signal}: closing every session`);
    const onSecond = () => process.exit(EXIT_INTERRUPTED);
    process.once("SIGINT", onSecond);
    await server.stop();
    log.info("stopped");
  },
});

const devicesArgs = {
  ffmpeg: { type: "string", description: "ffmpeg binary (or WHIPCAST_FFMPEG)", valueHint: "PATH" },
  json: { type: "boolean", default: false, description: "Print JSON" },
} as const satisfies ArgsDef;

const devices = defineCommand({
  meta: { name: "devices", description: "List cameras, microphones and screens as ffmpeg sees them" },
  args: devicesArgs,
  async run({ args, rawArgs }) {
    rejectUnknownFlags(rawArgs, devicesArgs);
    const ffmpeg = await locateFfmpeg(args.ffmpeg);
    const list = await listDevices(ffmpeg.path, process.platform === "darwin" ? "darwin" : "linux");
    process.stdout.write(`${args.json ? JSON.stringify(list, null, 2) : formatDeviceList(list)}\n`);
  },
});

const main = defineCommand({
  meta: { name: "whipcast", version: pkg.version, description: pkg.description },
  subCommands: { publish, serve, devices },
});

/** citty ignores flags it does not know; a typo must not silently fall back to a default. */
function rejectUnknownFlags(rawArgs: string[], defs: ArgsDef): void {
  const known = new Set<string>();
  for (const [name, def] of Object.entries(defs)) {
    known.add(name);
    if (def.type === "boolean") known.add(`no-${name}`);
  }
  for (const a of rawArgs) {
    if (!a.startsWith("--") || a === "--") continue;
    const name = a.slice(2).split("=")[0]!;
    if (!known.has(name)) throw new UsageError(`unknown flag --${name} (see --help)`);
  }
}

async function usage(rawArgs: string[]): Promise<string> {
  const sub = rawArgs.find((a) => !a.startsWith("-"));
  if (sub === "publish") return renderUsage(publish as CommandDef, main);
  if (sub === "devices") return renderUsage(devices as CommandDef, main);
  if (sub === "serve") return renderUsage(serve as CommandDef, main);
  return renderUsage(main);
}

async function cli(rawArgs: string[]): Promise<number> {
  if (rawArgs.includes("--version") || rawArgs.includes("-v")) {
    process.stdout.write(`${pkg.version}\n`);
    return EXIT_OK;
  }
  if (rawArgs.includes("--help") || rawArgs.includes("-h") || rawArgs.length === 0) {
    process.stdout.write(`${await usage(rawArgs)}\n`);
    return rawArgs.length === 0 ? 2 : EXIT_OK;
  }
  const sub = rawArgs[0]!;
  if (!["publish", "serve", "devices"].includes(sub)) throw new UsageError(`unknown command ${sub}; expected publish, serve or devices (see --help)`);
  await runCommand(main, { rawArgs });
  return exitStatus;
}

try {
  process.exitCode = await cli(process.argv.slice(2));
} catch (error) {
  if (error instanceof WhipcastError) {
    process.stderr.write(`whipcast: error: ${error.message}\n`);
    process.exitCode = EXIT_STATUS[error.code];
  } else {
    const message = error instanceof Error ? error.message : String(error);
    process.stderr.write(`whipcast: error: ${message.split("\n")[0]}\n`);
    process.exitCode = EXIT_INTERNAL;
  }
}
// Workers and sockets must not keep a finished run alive.
process.exit(process.exitCode ?? 0);
