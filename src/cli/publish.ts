import { DEFAULT_OPUS_SETTINGS } from "../codec/opus-encoder.ts";
import { fromPayload, MediaError, WhipcastError } from "../errors.ts";
import { MediaCapture } from "../media/capture.ts";
import { selectEncoder } from "../media/encoder-select.ts";
import { buildFfmpegArgs, type Encoder, type MediaPlan, type Os } from "../media/ffmpeg-args.ts";
import { locateFfmpeg } from "../media/ffmpeg-locate.ts";
import { probeFile } from "../media/probe.ts";
import { type OpusCommand, type OpusEvent, type SessionCommand, type SessionConfig, type SessionEvent, transferable } from "../protocol.ts";
import { redactUrl } from "../redact.ts";
import { nowNs } from "../rtp/ntp.ts";
import { CleanupStack } from "./cleanup.ts";
import type { Logger } from "./log.ts";
import type { PublishOptions } from "./options.ts";
import { formatBitrate } from "./units.ts";
import { workerUrl } from "../workers.ts";
import { startServerWorker } from "./serve.ts";

export interface PublishHooks {
  onConnected?: (atNs: bigint) => void;
  onFirstMedia?: (atNs: bigint) => void;
  onFfmpegPid?: (pid: number) => void;
  /** The viewer address of the embedded server (no URL given), once the stream is live on it; printed on stdout by default. */
  onWatchAddress?: (url: string) => void;
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

/**
 * Wire the pipeline: ffmpeg → (PCM → Opus worker) + (access units) → session worker → WHIP.
 * Signalling and ffmpeg start together, so the first frames exist by the time DTLS is up.
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
      cleanup.push("embedded server", () => server.stop());
      url = `${server.origin}/whip/${EMBEDDED_STREAM}`;
      watchAddress = `${server.origin}/watch/${EMBEDDED_STREAM}`;
    }
    const endpoint = url;
    log.redactor.add(opts.token);
    log.redactor.addUrl(endpoint);

    const os: Os = process.platform === "darwin" ? "darwin" : "linux";
    let { video, audio } = opts;
    if (opts.source.kind === "file") {
      const streams = await probeFile(ffmpeg.path, opts.source.path);
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
      width: opts.width,
      height: opts.height,
      fps: opts.fps,
      videoBitrate: opts.videoBitrate,
      keyframeIntervalSeconds: opts.keyframeIntervalSeconds,
      encoder,
    };
    const args = buildFfmpegArgs(plan);
    log.debug(`ffmpeg ${args.join(" ")}`);

    // Session worker.
    const session = new Worker(workerUrl("whip/session.worker"));
    cleanup.push("session worker", () => session.terminate());
    const sessionStopped = new Promise<SessionEvent & { type: "stopped" }>((resolve) => {
      session.onmessage = (e: MessageEvent<SessionEvent>) => {
        const ev = e.data;
        switch (ev.type) {
          case "state":
            if (ev.state === "signalling") log.debug(`posting offer to ${ev.detail ?? ""}`);
            if (ev.state === "connecting") log.debug("endpoint answered; connecting (ICE/DTLS)");
            if (ev.state === "connected") {
              hooks.onConnected?.(nowNs());
              log.info(`live: ${describeSource(opts)} → ${redactUrl(endpoint)}`);
              if (watchAddress !== undefined) (hooks.onWatchAddress ?? ((w) => process.stdout.write(`watch at ${w}\n`)))(watchAddress);
            }
            break;
          case "log":
            log.log(ev.level, ev.message);
            break;
          case "error":
            fail(fromPayload(ev.error));
            break;
          case "stopped":
            resolve(ev);
            break;
        }
      };
    });
    session.onerror = (e) => fail(new MediaError(`session worker failed: ${e.message}`));
    const postSession = (cmd: SessionCommand, transfer: Transferable[] = []) => session.postMessage(cmd, transfer);

    // Opus worker, talking straight to the session worker.
    let opus: Worker | undefined;
    const channel = audio ? new MessageChannel() : undefined;
    if (audio && channel) {
      const worker = new Worker(workerUrl("codec/opus.worker"));
      opus = worker;
      cleanup.push("opus worker", () => worker.terminate());
      const ready = new Promise<void>((resolve, reject) => {
        worker.onmessage = (e: MessageEvent<OpusEvent>) => {
          const ev = e.data;
          if (ev.type === "ready") {
            log.debug(`libopus ${ev.version} (WebAssembly)`);
            resolve();
          } else if (ev.type === "error") reject(fromPayload(ev.error));
        };
        worker.onerror = (e) => reject(new MediaError(`Opus worker failed: ${e.message}`));
      });
      worker.postMessage({ type: "init", settings: { ...DEFAULT_OPUS_SETTINGS, bitrate: opts.audioBitrate }, output: channel.port1 } satisfies OpusCommand, [channel.port1]);
      await ready;
    }
    if (stopReason !== undefined) return;

    const config: SessionConfig = {
      endpoint,
      ...(opts.token !== undefined ? { token: opts.token } : {}),
      video,
      audio,
      videoBitrate: opts.videoBitrate,
      iceServers: opts.iceServers,
      timeoutMs: opts.timeoutMs,
      loopbackCandidates: process.env.WHIPCAST_LOOPBACK_CANDIDATES !== "0",
    };
    postSession({ type: "start", config, audioInput: channel?.port2 ?? null }, channel ? [channel.port2] : []);
    cleanup.push("WHIP session", async () => {
      postSession({ type: "stop" });
      const stopped = await Promise.race([sessionStopped, Bun.sleep(2_500).then(() => undefined)]);
      if (stopped?.deleted) log.debug("WHIP session deleted");
      else if (stopped && stopped.detail) log.warn(`could not delete the WHIP session: ${stopped.detail}`);
      if (stopped) {
        const { videoFrames, audioPackets, retransmitted, latencyP50Ms, latencyP99Ms } = stopped.sent;
        const latency = latencyP50Ms !== undefined ? `; frame hand-off p50 ${latencyP50Ms.toFixed(2)} ms, p99 ${latencyP99Ms?.toFixed(2)} ms` : "";
        log.info(`sent ${videoFrames} video frames and ${audioPackets} audio packets (${retransmitted} retransmitted)${latency}`, { ...stopped.sent });
      }
    });

    log.info(
      `publishing ${describeSource(opts)}${video ? ` ${opts.width}x${opts.height}@${opts.fps} H.264 ${formatBitrate(opts.videoBitrate)} (${encoder})` : ""}${audio ? ` + Opus ${formatBitrate(opts.audioBitrate)}` : ""} to ${redactUrl(endpoint)}`,
    );

    let firstMedia = false;
    const capture = new MediaCapture(ffmpeg.path, args, {
      video: (au) => {
        if (!firstMedia) {
          firstMedia = true;
          hooks.onFirstMedia?.(nowNs());
        }
        const data = transferable(au.data);
        postSession({ type: "video", data, captureNs: au.captureNs, keyframe: au.keyframe, receivedNs: au.receivedNs }, [data]);
      },
      audio: (pcm, captureNs) => {
        const data = transferable(pcm);
        opus?.postMessage({ type: "pcm", data, captureNs } satisfies OpusCommand, [data]);
      },
      exit: (error) => {
        if (error) fail(error);
        else if (!stopping) stopRequested(opts.source.kind === "file" ? "end of file" : "ffmpeg finished");
      },
    });
    if (capture.pid !== undefined) hooks.onFfmpegPid?.(capture.pid);
    // Registered last, so it is stopped first: no new media while the session winds down.
    cleanup.push("ffmpeg", () => capture.stop(500));
    cleanup.push("opus flush", () => opus?.postMessage({ type: "close" } satisfies OpusCommand));

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
      firstError ??= error instanceof WhipcastError ? error : new MediaError(error instanceof Error ? error.message : String(error));
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
