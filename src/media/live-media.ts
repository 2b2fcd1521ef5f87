import { DEFAULT_OPUS_SETTINGS } from "../codec/opus-encoder.ts";
import { fromPayload, MediaError, type WhipcastError } from "../errors.ts";
import { type OpusCommand, type OpusEvent, transferable } from "../protocol.ts";
import { STOP_BUDGET } from "../stop-budget.ts";
import { workerUrl } from "../workers.ts";
import { MediaCapture } from "./capture.ts";
import type { EncoderSetting } from "./encoder-control.ts";
import { AdaptiveVideoEncoder, type EncodedAccessUnit, type SwitchCause, type VideoEncoderOptions } from "./video-encoder.ts";

export interface LiveMediaOptions {
  ffmpeg: string;
  /** The capture ffmpeg's arguments (src/media/ffmpeg-args.ts). */
  captureArgs: string[];
  /** H.264 from the raw frames, starting at `setting`; absent for audio only. */
  video?: Omit<VideoEncoderOptions, "ffmpeg"> & { setting: EncoderSetting };
  /** Opus at `bitrate`; absent for video only. */
  audio?: { bitrate: number };
}

export interface LiveMediaEvents {
  accessUnit(au: EncodedAccessUnit): void;
  /** The video encoder switched (see AdaptiveVideoEncoder). */
  switched(setting: EncoderSetting, cause: SwitchCause, latencyMs: number): void;
  /** Something failed on its own: ffmpeg, an encoder, the Opus Worker. */
  failed(error: WhipcastError): void;
  /** ffmpeg finished cleanly (the end of a file, or the source closed). */
  ended(): void;
  log(level: "debug" | "info", message: string): void;
}

/**
 * The capture and its encoders, which live for the whole run whatever happens to the WHIP
 * session (src/whip/supervisor.ts replaces that): ffmpeg capturing raw frames and PCM, the
 * adaptive H.264 encoder, and the Opus Worker, whose packets go straight to the session Worker
 * through `audioOutput`. Opened in two steps so the session can be started in between: open()
 * readies Opus, start() begins capturing.
 */
export class LiveMedia {
  #capture: MediaCapture | undefined;
  #video: AdaptiveVideoEncoder | undefined;
  #stopping = false;

  private constructor(
    readonly options: LiveMediaOptions,
    readonly events: LiveMediaEvents,
    readonly opus: Worker | undefined,
    /** Where Opus packets come out: hand it to the session Worker. */
    readonly audioOutput: MessagePort | null,
  ) {}

  /** Ready the Opus Worker (libopus compiled to WebAssembly), if there is audio. */
  static async open(options: LiveMediaOptions, events: LiveMediaEvents): Promise<LiveMedia> {
    if (!options.audio) return new LiveMedia(options, events, undefined, null);
    const channel = new MessageChannel();
    const worker = new Worker(workerUrl("codec/opus.worker"));
    const media = new LiveMedia(options, events, worker, channel.port2);
    try {
      await new Promise<void>((resolve, reject) => {
        worker.onmessage = (e: MessageEvent<OpusEvent>) => {
          const ev = e.data;
          if (ev.type === "ready") {
            events.log("debug", `libopus ${ev.version} (WebAssembly)`);
            resolve();
          } else if (ev.type === "error") reject(fromPayload(ev.error));
        };
        worker.onerror = (e) => reject(new MediaError(`Opus worker failed: ${e.message}`));
        worker.postMessage({ type: "init", settings: { ...DEFAULT_OPUS_SETTINGS, bitrate: options.audio!.bitrate }, output: channel.port1 } satisfies OpusCommand, [channel.port1]);
      });
    } catch (error) {
      worker.terminate();
      throw error;
    }
    worker.onerror = (e) => {
      if (!media.#stopping) events.failed(new MediaError(`Opus worker failed: ${e.message}`));
    };
    return media;
  }

  /** Start the video encoder and ffmpeg. Returns ffmpeg's pid. */
  start(): number | undefined {
    const { video } = this.options;
    if (video) {
      const { setting, ...encoder } = video;
      this.#video = new AdaptiveVideoEncoder({ ffmpeg: this.options.ffmpeg, ...encoder }, setting, {
        accessUnit: (au) => this.events.accessUnit(au),
        switched: (s, cause, latencyMs) => this.events.switched(s, cause, latencyMs),
        // Once stopping, an encoder that ends is part of the stop, not a failure.
        failed: (error) => {
          if (!this.#stopping) this.events.failed(error);
        },
      });
    }
    this.#capture = new MediaCapture(this.options.ffmpeg, this.options.captureArgs, {
      videoFrame: (captureNs, size) => this.#video?.beginFrame(captureNs, size),
      audio: (pcm, captureNs) => {
        const data = transferable(pcm);
        this.opus?.postMessage({ type: "pcm", data, captureNs } satisfies OpusCommand, [data]);
      },
      exit: (error) => {
        if (error) this.events.failed(error);
        else if (!this.#stopping) this.events.ended();
      },
    });
    return this.#capture.pid;
  }

  /** A fresh IDR as soon as the encoder can make one. */
  keyframe(): void {
    this.#video?.keyframe();
  }

  /** Encode at a new setting from the next IDR (see AdaptiveVideoEncoder). */
  change(setting: EncoderSetting): void {
    this.#video?.change(setting);
  }

  setAudioBitrate(bitrate: number): void {
    this.opus?.postMessage({ type: "bitrate", bitrate } satisfies OpusCommand);
  }

  get hasVideo(): boolean {
    return this.options.video !== undefined;
  }

  /**
   * No new media: the last Opus frame flushed, ffmpeg stopped (within its grace), then the video
   * encoder, which nothing feeds once the capture is gone. The Opus Worker stays until close(),
   * so what it flushed reaches the session before that is deleted. Idempotent.
   */
  async stop(): Promise<void> {
    if (this.#stopping) return;
    this.#stopping = true;
    this.opus?.postMessage({ type: "close" } satisfies OpusCommand);
    try {
      await this.#capture?.stop(STOP_BUDGET.ffmpegGraceMs);
    } finally {
      await this.#video?.stop();
    }
  }

  close(): void {
    this.#stopping = true;
    this.opus?.terminate();
  }
}
