import { type ChildProcess, spawn } from "node:child_process";
import type { Readable } from "node:stream";
import { MediaError } from "../errors.ts";
import { nowNs } from "../rtp/ntp.ts";
import { PIPE } from "./ffmpeg-args.ts";
import { StderrTail } from "./ffmpeg-stderr.ts";
import { FramingError, PacketCutter, PacketStream } from "./packet-cutter.ts";

/** Where a raw frame's bytes go as they arrive from the capture, in order. */
export type FrameSink = (bytes: Uint8Array) => void;

export interface CaptureEvents {
  /**
   * A raw yuv420p frame (for src/media/video-encoder.ts) begins, captured at `captureNs`
   * (Unix-epoch nanoseconds): where its `size` bytes go, or undefined to skip it.
   */
  videoFrame(captureNs: bigint, size: number): FrameSink | undefined;
  audio(pcm: Uint8Array, captureNs: bigint): void;
  /** ffmpeg ended. `error` is set unless the end was asked for, or a file source ran out. */
  exit(error: MediaError | undefined): void;
}

/** A timestamp within this of the wall clock is one: the source was stamped as it was captured. */
const WALL_CLOCK_SLACK_NS = 10_000_000_000n;

/**
 * What to add to ffmpeg's timestamps to get capture instants on the wall clock, from the first
 * packet. A live Linux source's are the wall clock already (-use_wallclock_as_timestamps with
 * -copyts: ffmpeg stamped each packet when it captured it): taken as they are, the stamps are
 * the capture instants, and abs-capture-time and the Sender Reports say when the picture was
 * taken. Any other timeline (a file, the test pattern, avfoundation's host clock) starts at the
 * first packet's arrival, so its stamps run late by that packet's path through ffmpeg.
 */
export function captureAnchor(ptsNs: bigint, arrivedNs: bigint): bigint {
  const offset = arrivedNs - ptsNs;
  return offset >= -WALL_CLOCK_SLACK_NS && offset <= WALL_CLOCK_SLACK_NS ? 0n : offset;
}

/**
 * The capture ffmpeg: raw video frames and 48 kHz PCM, each on its own pipe as framecrc-announced
 * packets (see PacketStream). A raw frame's bytes go on to its encoder as they arrive, never
 * gathered into a frame of their own (one copy and a 1.4 MB allocation per 720p frame fewer);
 * PCM is cut into packets the moment their last byte arrives. Both are stamped on the
 * capture clock: ffmpeg's timeline, put on the wall clock once, from the first packet of either
 * stream (captureAnchor). Both streams share the anchor, so their relative timing is exactly
 * ffmpeg's.
 */
export class MediaCapture {
  readonly #child: ChildProcess;
  readonly #stderr = new StderrTail();
  #anchorNs: bigint | undefined;
  #stopRequested = false;
  #framingError: MediaError | undefined;
  #exited: Promise<void>;
  #packets = { video: 0, audio: 0 };
  /** Where the raw frame now arriving goes. */
  #frame: FrameSink | undefined;

  constructor(ffmpeg: string, args: string[], readonly events: CaptureEvents) {
    // Its own process group: a terminal's Ctrl+C (or a signal to whipcast's group) reaches
    // whipcast alone, which then stops the pipeline in order (capture first, then encoders).
    // Left behind by a killed whipcast, it ends at its next write to a closed pipe.
    this.#child = spawn(ffmpeg, args, { stdio: ["ignore", "ignore", "pipe", "pipe", "pipe"], detached: true });
    const stdio = this.#child.stdio as unknown as (Readable | null)[];
    stdio[2]!.setEncoding("utf8").on("data", (d: string) => this.#stderr.push(d));
    const video = new PacketStream({
      start: (p) => {
        this.#packets.video++;
        this.#frame = this.events.videoFrame(this.#captureNs(p.ptsNs, nowNs()), p.size);
      },
      data: (bytes) => this.#frame?.(bytes),
      end: () => {
        this.#frame = undefined;
      },
    });
    const audio = new PacketCutter();
    const streamsDone = [
      this.#wire(stdio[PIPE.video]!, (chunk) => video.push(chunk)),
      this.#wire(stdio[PIPE.audio]!, (chunk) => {
        for (const p of audio.push(chunk)) this.#onAudio(p.ptsNs, p.data);
      }),
    ];
    let spawnError: Error | undefined;
    this.#child.on("error", (e) => (spawnError = e));
    const closed = new Promise<number | null>((resolve) => this.#child.on("close", (code) => resolve(code)));
    this.#exited = Promise.all([closed, ...streamsDone]).then(([code]) => {
      if (this.#framingError) return this.events.exit(this.#framingError);
      if (this.#stopRequested) return this.events.exit(undefined);
      if (spawnError) return this.events.exit(new MediaError(`cannot run ffmpeg: ${spawnError.message}`));
      const last = this.#stderr.lastError();
      if (code === 0 && this.#packets.video + this.#packets.audio > 0) return this.events.exit(undefined);
      const why = last ? `: ${last}` : this.#packets.video + this.#packets.audio === 0 ? ": it produced no media" : "";
      this.events.exit(new MediaError(`ffmpeg exited with ${code ?? "a signal"}${why}`));
    });
  }

  #wire(pipe: Readable, push: (chunk: Uint8Array) => void): Promise<void> {
    pipe.on("data", (chunk: Buffer) => {
      if (this.#framingError) return;
      try {
        push(new Uint8Array(chunk.buffer, chunk.byteOffset, chunk.byteLength));
      } catch (error) {
        if (!(error instanceof FramingError)) throw error;
        // Not ffmpeg's doing that we could recover from: stop it and say what was read.
        this.#framingError = new MediaError(`cannot read ffmpeg's output: ${error.message}`);
        this.#child.kill("SIGKILL");
      }
    });
    return new Promise<void>((resolve) => pipe.on("close", () => resolve()).on("error", () => resolve()));
  }

  #captureNs(ptsNs: bigint, arrivedNs: bigint): bigint {
    this.#anchorNs ??= captureAnchor(ptsNs, arrivedNs);
    return this.#anchorNs + ptsNs;
  }

  #onAudio(ptsNs: bigint, pcm: Uint8Array): void {
    this.#packets.audio++;
    this.events.audio(pcm, this.#captureNs(ptsNs, nowNs()));
  }

  get pid(): number | undefined {
    return this.#child.pid;
  }

  /** Ask ffmpeg to finish (SIGTERM), then force it after `graceMs`. Idempotent. */
  async stop(graceMs = 1_000): Promise<void> {
    if (!this.#stopRequested) {
      this.#stopRequested = true;
      if (this.#child.exitCode === null && this.#child.signalCode === null) {
        this.#child.kill("SIGTERM");
        const force = setTimeout(() => this.#child.kill("SIGKILL"), graceMs);
        await this.#exited;
        clearTimeout(force);
      }
    }
    await this.#exited;
  }
}
