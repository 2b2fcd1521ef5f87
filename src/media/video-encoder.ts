import type { MediaError } from "../errors.ts";
import { nowNs } from "../rtp/ntp.ts";
import { ParameterSetKeeper } from "./annexb.ts";
import type { FrameSink } from "./capture.ts";
import type { EncoderSetting } from "./encoder-control.ts";
import { type EncodedFrame, EncoderProcess } from "./encoder-process.ts";
import type { Encoder, RawFormat } from "./ffmpeg-args.ts";
import { Splice } from "./splice.ts";

/**
 * A standby is used only once it has had this long to start (ffmpeg's start-up, measured at
 * ~100 ms here, is most of a cold encoder's first-frame latency; warm, the IDR comes ~20 ms
 * after its frame).
 */
const WARM_MS = 150;

export type SwitchCause = "rate" | "keyframe";

export interface EncodedAccessUnit {
  data: Uint8Array;
  keyframe: boolean;
  captureNs: bigint;
  /** When the access unit was read from the encoder. */
  receivedNs: bigint;
}

export interface VideoEncoderEvents {
  accessUnit(au: EncodedAccessUnit): void;
  /** A switch completed: the first IDR of the new encoder went out, `latencyMs` after it was asked for. */
  switched(setting: EncoderSetting, cause: SwitchCause, latencyMs: number): void;
  /** An encoder failed on its own (not asked to stop). */
  failed(error: MediaError): void;
}

export interface VideoEncoderOptions {
  ffmpeg: string;
  encoder: Encoder;
  inputWidth: number;
  inputHeight: number;
  inputPixelFormat?: RawFormat;
  inputFps: number;
  keyframeIntervalSeconds: number;
  vaapiDevice?: string;
}

interface Running {
  process: EncoderProcess;
  setting: EncoderSetting;
  /** The capture frame number and times of each frame fed, by the process's own index. */
  frames: Map<number, { frame: number; captureNs: bigint }>;
  /** Capture time of the last frame fed (frame-rate decimation). */
  lastFedNs: bigint | undefined;
}

/**
 * The video encoder as the network needs it: bitrate, size and frame rate that change at run
 * time, and an IDR on demand — which the ffmpeg CLI cannot do to a running encoder. So each
 * change starts a fresh encoder process (with the new setting) that takes the raw frames from the
 * next one on, and its output is spliced in at its first IDR (Splice): one continuous stream.
 * A standby process at the current setting is kept spawned and idle, so a keyframe request
 * costs one warm encoder's first frame, not a cold start.
 */
export class AdaptiveVideoEncoder {
  readonly #splice: Splice<{ data: Uint8Array; captureNs: bigint }>;
  readonly #running = new Map<number, Running>();
  readonly #params = new ParameterSetKeeper();
  #nextId = 1;
  #active: number;
  #standby: number | undefined;
  #want: { setting: EncoderSetting; cause: SwitchCause; askedAt: number } | undefined;
  #switching: { cause: SwitchCause; askedAt: number } | undefined;
  #frameNo = 0;
  #stopped = false;
  readonly #retiring = new Set<number>();

  constructor(
    readonly options: VideoEncoderOptions,
    initial: EncoderSetting,
    readonly events: VideoEncoderEvents,
  ) {
    this.#active = this.#spawn(initial);
    this.#splice = new Splice(this.#active);
    this.#standby = this.#spawn(initial);
  }

  /** The setting frames are being encoded with now (the newest, once a switch has begun). */
  get setting(): EncoderSetting {
    return this.#running.get(this.#splice.pending ?? this.#active)!.setting;
  }

  /** Switch to `setting` as soon as an encoder with it is warm. */
  change(setting: EncoderSetting): void {
    if (this.#stopped) return;
    this.#want = { setting, cause: "rate", askedAt: performance.now() };
    this.#standbyFor(setting);
  }

  /** Make an IDR as soon as possible: promote the standby at the next frame. */
  keyframe(): void {
    if (this.#stopped) return;
    if (this.#want) return; // a switch is coming anyway, and starts with an IDR
    this.#want = { setting: this.setting, cause: "keyframe", askedAt: performance.now() };
    this.#standbyFor(this.setting);
  }

  /**
   * One raw frame of `size` bytes from the capture begins: where its bytes go as they arrive
   * (the active encoder's stdin), or undefined when no encoder takes it.
   */
  beginFrame(captureNs: bigint, size: number): FrameSink | undefined {
    if (this.#stopped) return undefined;
    const frame = this.#frameNo++;
    const want = this.#want;
    if (want && this.#splice.pending === undefined && this.#standby !== undefined) {
      const standby = this.#running.get(this.#standby)!;
      if (sameSetting(standby.setting, want.setting) && performance.now() - standby.process.spawnedAt >= WARM_MS) {
        // Frames from this one on go to the standby; the active encoder finishes what it has.
        this.#splice.begin(standby.process.id, frame);
        this.#running.get(this.#active)?.process.end();
        this.#retiring.add(this.#active);
        this.#active = standby.process.id;
        this.#standby = this.#spawn(want.setting);
        this.#switching = { cause: want.cause, askedAt: want.askedAt };
        this.#want = undefined;
      }
    }
    const r = this.#running.get(this.#active);
    if (!r) return undefined; // it failed; `failed` has said so
    // Frame-rate rungs: feed a frame only when the encoder's own frame interval has passed.
    const intervalNs = BigInt(Math.round(1e9 / r.setting.fps));
    const slackNs = BigInt(Math.round(1e9 / this.options.inputFps / 2));
    if (r.lastFedNs !== undefined && captureNs - r.lastFedNs < intervalNs - slackNs) return undefined;
    const process = r.process;
    const index = process.begin(size);
    if (index === undefined) return undefined;
    r.lastFedNs = captureNs;
    r.frames.set(index, { frame, captureNs });
    return (bytes) => process.write(bytes);
  }

  #spawn(setting: EncoderSetting): number {
    const id = this.#nextId++;
    const o = this.options;
    const process = new EncoderProcess(
      o.ffmpeg,
      id,
      {
        encoder: o.encoder,
        inputWidth: o.inputWidth,
        inputHeight: o.inputHeight,
        ...(o.inputPixelFormat ? { inputPixelFormat: o.inputPixelFormat } : {}),
        width: setting.width,
        height: setting.height,
        fps: setting.fps,
        videoBitrate: setting.bitrate,
        keyframeIntervalSeconds: o.keyframeIntervalSeconds,
        ...(o.vaapiDevice !== undefined ? { vaapiDevice: o.vaapiDevice } : {}),
      },
      (p, f) => this.#onFrame(p, f),
    );
    this.#running.set(id, { process, setting, frames: new Map(), lastFedNs: undefined });
    void process.exited.then((error) => this.#onExit(id, error));
    return id;
  }

  /** Replace the standby unless it already has `setting`. */
  #standbyFor(setting: EncoderSetting): void {
    const standby = this.#standby === undefined ? undefined : this.#running.get(this.#standby);
    if (standby && sameSetting(standby.setting, setting)) return;
    if (standby) {
      this.#retiring.add(standby.process.id);
      void standby.process.stop();
    }
    this.#standby = this.#spawn(setting);
  }

  #onFrame(process: EncoderProcess, encoded: EncodedFrame): void {
    const r = this.#running.get(process.id);
    const fed = r?.frames.get(encoded.index);
    if (!r || !fed) return;
    r.frames.delete(encoded.index);
    const receivedNs = nowNs();
    for (const out of this.#splice.push({ encoder: process.id, frame: fed.frame, keyframe: encoded.keyframe, data: { data: encoded.data, captureNs: fed.captureNs } })) {
      this.#emit(out.data.data, out.keyframe, out.data.captureNs, receivedNs, out.encoder);
    }
  }

  #emit(data: Uint8Array, keyframe: boolean, captureNs: bigint, receivedNs: bigint, encoder: number): void {
    const au = keyframe ? this.#params.apply(data) : data;
    if (keyframe && this.#switching && encoder === this.#active) {
      const s = this.#switching;
      this.#switching = undefined;
      this.events.switched(this.#running.get(encoder)!.setting, s.cause, performance.now() - s.askedAt);
    }
    this.events.accessUnit({ data: au, keyframe, captureNs, receivedNs });
  }

  #onExit(id: number, error: MediaError | undefined): void {
    this.#running.delete(id);
    if (this.#retiring.delete(id)) {
      const receivedNs = nowNs();
      if (this.#splice.current === id) for (const out of this.#splice.currentEnded()) this.#emit(out.data.data, out.keyframe, out.data.captureNs, receivedNs, out.encoder);
      return;
    }
    if (this.#stopped) return;
    if (error) this.events.failed(error);
  }

  /** Stop every encoder process. Idempotent. */
  async stop(): Promise<void> {
    this.#stopped = true;
    await Promise.all([...this.#running.values()].map((r) => r.process.stop()));
  }
}

function sameSetting(a: EncoderSetting, b: EncoderSetting): boolean {
  return a.bitrate === b.bitrate && a.width === b.width && a.height === b.height && a.fps === b.fps;
}
