import { EncoderControl, type EncoderSetting } from "../media/encoder-control.ts";
import type { SwitchCause } from "../media/video-encoder.ts";
import { LiveMedia } from "../media/live-media.ts";
import { formatStatus, type KeyframeReason, type StatusFigures, StatusLine, statusFields } from "./status-line.ts";
import { asWhipcastError, MediaError, type WhipcastError } from "../errors.ts";
import { selectEncoder } from "../media/encoder-select.ts";
import { buildFfmpegArgs, type Encoder, type MediaPlan, type Os, rawFormat } from "../media/ffmpeg-args.ts";
import { locateFfmpeg } from "../media/ffmpeg-locate.ts";
import { probeFile } from "../media/probe.ts";
import type { CounterStart, SessionConfig, TransportStats } from "../protocol.ts";
import { redactUrl } from "../redact.ts";
import { nowNs } from "../rtp/ntp.ts";
import { CleanupStack } from "./cleanup.ts";
import type { Logger } from "./log.ts";
import type { PublishOptions } from "./options.ts";
import { formatBitrate } from "./units.ts";
import { startServerWorker } from "./serve.ts";
import { STOP_BUDGET } from "../stop-budget.ts";
import { SessionLink, type StateEvent } from "./session-link.ts";

export interface PublishHooks {
  onConnected?: (atNs: bigint) => void;
  onFirstMedia?: (atNs: bigint) => void;
  onFfmpegPid?: (pid: number) => void;
  /** The live status line, when stderr is a terminal (rewritten each second). */
  statusLine?: StatusLine;
  /** The viewer address of the embedded server (no URL given), once the stream is live on it; printed on stdout by default. */
  onWatchAddress?: (url: string) => void;
  /** Start the wrapping counters here: tests of hours-long runs reach the wraps in seconds. */
  counterStart?: CounterStart;
}

/** The stream name used on the embedded server. */
export const EMBEDDED_STREAM = "live";

export interface PublishRun {
  /** Resolves with the error that ended the run, or undefined for a clean stop. */
  done: Promise<WhipcastError | undefined>;
  /** Ask for a clean stop (Ctrl+C, SIGTERM, --duration). */
  stop(reason: string): void;
}

function describeSource(o: PublishOptions): string {
  switch (o.source.kind) {
    case "test":
      return "test pattern";
    case "file":
      return `file ${o.source.path}${o.source.loop ? " (looped)" : ""}`;
    default:
      return o.source.kind;
  }
}

/** ` 1280x720 → 960x540@30`: what else changed with the bitrate, if anything. */
function describeShape(from: EncoderSetting, to: EncoderSetting): string {
  if (from.width === to.width && from.height === to.height && from.fps === to.fps) return "";
  return `, ${from.width}x${from.height}@${from.fps} → ${to.width}x${to.height}@${to.fps}`;
}

/**
 * One run of `whipcast publish`: find ffmpeg, probe, choose the encoder, then wire its two
 * owners, each for the whole run: LiveMedia (ffmpeg → raw frames → H.264, PCM → the Opus Worker)
 * and the SessionLink (the session Worker, whose supervisor creates and replaces WHIP sessions).
 * Here: adaptation steps, keyframe requests, the status line, signals, --duration, and cleanup
 * in reverse order. Signalling and ffmpeg start together, so the first frames exist by the time
 * DTLS is up.
 */
export function startPublish(opts: PublishOptions, log: Logger, hooks: PublishHooks = {}): PublishRun {
  const cleanup = new CleanupStack();
  let finish!: (error: WhipcastError | undefined) => void;
  const finished = new Promise<WhipcastError | undefined>((r) => (finish = r));
  let firstError: WhipcastError | undefined;
  let stopping = false;
  let stopReason: string | undefined;
  let resolveStop!: (reason: string) => void;
  const stopSignal = new Promise<string>((resolve) => (resolveStop = resolve));
  const stopRequested = (reason: string) => {
    stopReason ??= reason;
    resolveStop(reason);
  };

  const fail = (error: WhipcastError) => {
    firstError ??= error;
    stopRequested(error.message);
  };

  const run = async () => {
    // Without ffmpeg nothing can be published: say so before anything else starts.
    const ffmpeg = await locateFfmpeg(opts.ffmpeg);
    log.debug(`ffmpeg: ${ffmpeg.path} (from ${ffmpeg.origin})`);
    let url = opts.url;
    // The viewer address of the embedded server, announced once the stream is live on it.
    let watchAddress: string | undefined;
    if (url === undefined) {
      // No endpoint given: serve one here, on loopback, and publish to it.
      const server = await startServerWorker({ host: "127.0.0.1", port: 0, preferPort: 8080, token: undefined, viewerToken: undefined, maxViewers: 20, iceServers: opts.iceServers }, log);
      // Registered first, so it closes last: after the WHIP DELETE has reached it.
      cleanup.push("embedded server", () => server.stop(STOP_BUDGET.embeddedServerMs));
      url = `${server.origin}/whip/${EMBEDDED_STREAM}`;
      watchAddress = `${server.origin}/watch/${EMBEDDED_STREAM}`;
    }
    const endpoint = url;
    log.redactor.add(opts.token);
    log.redactor.addUrl(endpoint);

    const os: Os = process.platform === "darwin" ? "darwin" : "linux";
    let { video, audio } = opts;
    let inputSize: MediaPlan["inputSize"];
    let inputFps: number | undefined;
    let inputPixelFormat: string | undefined;
    if (opts.source.kind === "file") {
      const streams = await probeFile(ffmpeg.path, opts.source.path);
      inputSize = streams.videoSize;
      inputFps = streams.videoFps;
      inputPixelFormat = streams.videoPixelFormat;
      if (!(video && streams.video) && !(audio && streams.audio)) throw new MediaError(`${opts.source.path} has none of the requested streams`);
      if (video && !streams.video) log.warn(`${opts.source.path} has no video stream; publishing audio only`);
      if (audio && !streams.audio) log.warn(`${opts.source.path} has no audio stream; publishing video only`);
      video &&= streams.video;
      audio &&= streams.audio;
    }
    if (stopReason !== undefined) return;
    let encoder: Encoder = "x264";
    if (video) {
      const chosen = await selectEncoder(ffmpeg.path, opts.encoder, os);
      encoder = chosen.encoder;
      log.debug(`encoder: ${encoder} (${chosen.tried.join(", ")})`);
    }
    if (stopReason !== undefined) return;
    const plan: MediaPlan = {
      os,
      source: opts.source,
      video,
      audio,
      ...(opts.videoDevice !== undefined ? { videoDevice: opts.videoDevice } : {}),
      ...(opts.audioDevice !== undefined ? { audioDevice: opts.audioDevice } : {}),
      ...(process.env.DISPLAY ? { display: process.env.DISPLAY } : {}),
      ...(inputSize ? { inputSize } : {}),
      ...(inputFps !== undefined ? { inputFps } : {}),
      ...(inputPixelFormat !== undefined ? { inputPixelFormat } : {}),
      width: opts.width,
      height: opts.height,
      fps: opts.fps,
      videoBitrate: opts.videoBitrate,
      keyframeIntervalSeconds: opts.keyframeIntervalSeconds,
      encoder,
    };
    const args = buildFfmpegArgs(plan);
    const control = new EncoderControl({ width: opts.width, height: opts.height, fps: opts.fps, maxBitrate: opts.videoBitrate, minBitrate: opts.minVideoBitrate, audioBitrate: audio ? opts.audioBitrate : 0, adapt: opts.adapt });
    const figures: StatusFigures = { state: "starting", stats: undefined, keyframes: {}, reconnects: 0, ...(video ? { video: control.setting } : {}) };
    let audioRate = opts.audioBitrate;
    let nextKeyframeReason: KeyframeReason = "start";
    let connectedAt: number | undefined;
    let keyframeTimer: ReturnType<typeof setTimeout> | undefined;
    // The capture and encoders (for the run), and the session Worker that keeps it published.
    let media: LiveMedia | undefined;
    const requestKeyframe = (reason: KeyframeReason) => {
      if (!media?.hasVideo) return;
      clearTimeout(keyframeTimer);
      keyframeTimer = undefined;
      if (control.requestKeyframe(performance.now())) {
        nextKeyframeReason = reason;
        media.keyframe();
        return;
      }
      // One keyframe per 500 ms at most: the owed one is made when that allows.
      const due = control.keyframeDue();
      if (due !== undefined) keyframeTimer = setTimeout(() => requestKeyframe(reason), Math.max(0, due - performance.now()));
    };
    cleanup.push("keyframe timer", () => clearTimeout(keyframeTimer));
    log.debug(`ffmpeg ${args.join(" ")}`);

    const onState = (ev: StateEvent) => {
      figures.state = ev.state === "connected" ? "live" : ev.state;
      // While reconnecting there are no live figures; the line says so at once.
      if (ev.state === "reconnecting") figures.stats = undefined;
      if (ev.state === "connected" && ev.reconnect) figures.reconnects++;
      hooks.statusLine?.show(formatStatus(figures));
      // A live source starts with a fresh IDR (what was captured while connecting is
      // dropped), and so does every session after a loss, whatever the source.
      if (ev.state === "connected" && media?.hasVideo && (ev.reconnect || opts.source.kind !== "file")) {
        connectedAt ??= performance.now();
        nextKeyframeReason = "start";
        media.keyframe();
      }
      if (ev.reconnect) return;
      if (ev.state === "signalling") log.debug(`posting offer to ${ev.detail ?? ""}`);
      if (ev.state === "connecting") log.debug("endpoint answered; connecting (ICE/DTLS)");
      if (ev.state === "connected") {
        hooks.onConnected?.(nowNs());
        log.info(`live: ${describeSource(opts)} → ${redactUrl(endpoint)}`);
        if (watchAddress !== undefined) (hooks.onWatchAddress ?? ((w) => process.stdout.write(`watch at ${w}\n`)))(watchAddress);
      }
    };

    /** The estimate moved: maybe a new encoder setting, maybe a lower Opus rate. Each step is logged once. */
    // Why the estimate last went down, and up: a step is logged with the reason for its direction.
    const reasons = { down: "delay rising", up: "link clear" };
    let lastTarget: number | undefined;
    const onTarget = (bps: number, reason: string) => {
      if (!opts.adapt) return;
      if (lastTarget !== undefined && bps < lastTarget) reasons.down = reason;
      if (lastTarget !== undefined && bps > lastTarget) reasons.up = reason;
      lastTarget = bps;
      const change = video ? control.update(bps, performance.now(), reasons.up === "probe" && bps > (control.setting.bitrate ?? 0)) : undefined;
      if (change && media) {
        media.change(change.setting);
        const why = change.setting.bitrate < change.from.bitrate ? reasons.down : reasons.up;
        log.info(`video ${formatBitrate(change.from.bitrate)} → ${formatBitrate(change.setting.bitrate)}${describeShape(change.from, change.setting)} (${why})`);
      }
      const nextAudio = control.audioBitrate(bps);
      if (audio && nextAudio !== audioRate) {
        const reason = nextAudio < audioRate ? reasons.down : reasons.up;
        log.info(`audio ${formatBitrate(audioRate)} → ${formatBitrate(nextAudio)} (${reason})`);
        audioRate = nextAudio;
        media?.setAudioBitrate(nextAudio);
      }
    };
    let statsAt = performance.now();
    const onStats = (stats: TransportStats) => {
      figures.stats = stats;
      // A steady estimate sends no target events; an upward step that had to wait is taken here.
      if (stats.targetBps !== undefined) onTarget(stats.targetBps, stats.targetBps < (lastTarget ?? 0) ? reasons.down : reasons.up);
      if (hooks.statusLine) hooks.statusLine.show(formatStatus(figures));
      else if (opts.statsIntervalSeconds > 0 && performance.now() - statsAt >= opts.statsIntervalSeconds * 1000 - 500) {
        statsAt = performance.now();
        log.info(`stats: ${formatStatus(figures)}`, statusFields(figures));
      }
    };

    const session = new SessionLink({
      state: onState,
      log: (level, message) => log.log(level, message),
      target: onTarget,
      keyframeRequest: (cause) => {
        log.debug(`keyframe asked for (${cause})`);
        requestKeyframe(cause);
      },
      stats: onStats,
      error: fail,
    });
    cleanup.push("session worker", () => session.close());

    let firstMedia = false;
    const opened = await LiveMedia.open(
      {
        ffmpeg: ffmpeg.path,
        captureArgs: args,
        ...(video ? { video: { encoder, inputWidth: opts.width, inputHeight: opts.height, inputPixelFormat: rawFormat(plan), inputFps: opts.fps, keyframeIntervalSeconds: opts.keyframeIntervalSeconds, setting: control.setting } } : {}),
        ...(audio ? { audio: { bitrate: opts.audioBitrate } } : {}),
      },
      {
        accessUnit: (au) => {
          if (!firstMedia) {
            firstMedia = true;
            hooks.onFirstMedia?.(nowNs());
          }
          if (au.keyframe) {
            control.keyframeSent(performance.now());
            // Counted once the stream is live (a live source's earlier ones are never sent).
            if (connectedAt !== undefined || opts.source.kind === "file") {
              figures.keyframes[nextKeyframeReason] = (figures.keyframes[nextKeyframeReason] ?? 0) + 1;
              nextKeyframeReason = "interval";
            }
          }
          session.video(au);
        },
        switched: (setting: EncoderSetting, cause: SwitchCause, latencyMs: number) => {
          figures.video = setting;
          if (cause === "rate") nextKeyframeReason = "rate";
          // The next keyframe's start is timed by how long this switch took (see EncoderControl).
          control.switchLatencyMs = 0.7 * control.switchLatencyMs + 0.3 * Math.min(latencyMs, 400);
          log.debug(`encoder switched (${cause}) in ${latencyMs.toFixed(0)} ms: ${setting.width}x${setting.height}@${setting.fps} ${formatBitrate(setting.bitrate)}`);
        },
        failed: (error) => {
          if (!stopping) fail(error);
        },
        ended: () => {
          if (!stopping) stopRequested(opts.source.kind === "file" ? "end of file" : "ffmpeg finished");
        },
        log: (level, message) => log.log(level, message),
      },
    );
    media = opened;
    // Closed after the WHIP session is deleted, so what Opus flushed at the stop is sent first.
    cleanup.push("opus worker", () => opened.close());
    if (stopReason !== undefined) return;

    const config: SessionConfig = {
      endpoint,
      ...(opts.token !== undefined ? { token: opts.token } : {}),
      video,
      audio,
      videoBitrate: opts.videoBitrate,
      startVideoBitrate: control.setting.bitrate,
      audioBitrate: opts.audioBitrate,
      adapt: opts.adapt,
      minVideoBitrate: opts.minVideoBitrate,
      iceServers: opts.iceServers,
      timeoutMs: opts.timeoutMs,
      loopbackCandidates: process.env.WHIPCAST_LOOPBACK_CANDIDATES !== "0",
      sendHeldMedia: opts.source.kind === "file",
      reconnect: opts.reconnect,
      ...(hooks.counterStart ? { counterStart: hooks.counterStart } : {}),
      ...(opts.reconnectTimeoutMs !== undefined ? { reconnectTimeoutMs: opts.reconnectTimeoutMs } : {}),
    };
    // The session first, so a file's first frames have somewhere to go.
    session.start(config, opened.audioOutput);
    cleanup.push("WHIP session", async () => {
      const stopped = await session.stop();
      if (stopped?.deleted) log.debug("WHIP session deleted");
      else if (stopped && stopped.detail) log.warn(`could not delete the WHIP session: ${stopped.detail}`);
      if (stopped) {
        const { videoFrames, audioPackets, retransmitted, latencyP50Ms, latencyP99Ms, pacingP50Ms, pacingP99Ms } = stopped.sent;
        let latency = latencyP50Ms !== undefined ? `; frame hand-off p50 ${latencyP50Ms.toFixed(2)} ms, p99 ${latencyP99Ms?.toFixed(2)} ms` : "";
        if (pacingP50Ms !== undefined) latency += ` (pacing p50 ${pacingP50Ms.toFixed(1)} ms, p99 ${pacingP99Ms?.toFixed(1)} ms)`;
        const reconnects = stopped.reconnects > 0 ? `, ${stopped.reconnects} reconnect${stopped.reconnects === 1 ? "" : "s"}` : "";
        log.info(`sent ${videoFrames} video frames and ${audioPackets} audio packets (${retransmitted} retransmitted)${reconnects}${latency}`, { ...stopped.sent, reconnects: stopped.reconnects });
      }
    });

    log.info(
      `publishing ${describeSource(opts)}${video ? ` ${opts.width}x${opts.height}@${opts.fps} H.264 ${formatBitrate(opts.videoBitrate)} (${encoder})` : ""}${audio ? ` + Opus ${formatBitrate(opts.audioBitrate)}` : ""} to ${redactUrl(endpoint)}`,
    );
    const pid = opened.start();
    if (pid !== undefined) hooks.onFfmpegPid?.(pid);
    // Registered last, so it is stopped first: no new media while the session winds down.
    cleanup.push("media", () => opened.stop());

    if (opts.durationSeconds !== undefined) {
      const timer = setTimeout(() => stopRequested("--duration reached"), opts.durationSeconds * 1000);
      cleanup.push("duration timer", () => clearTimeout(timer));
    }

    const reason = await stopSignal;
    stopping = true;
    log.debug(`stopping: ${reason}`);
  };

  run()
    .catch((error: unknown) => {
      firstError ??= asWhipcastError(error);
    })
    .finally(async () => {
      stopping = true;
      const failures = await cleanup.run();
      for (const f of failures) log.debug(`cleanup: ${f}`);
      finish(firstError);
    });

  return {
    done: finished,
    stop: (reason) => {
      stopping = true;
      stopRequested(reason);
    },
  };
}
