import { type ChildProcess, spawn } from "node:child_process";
import type { Readable } from "node:stream";
import { MediaError } from "../errors.ts";
import { nowNs } from "../rtp/ntp.ts";
import { PIPE } from "./ffmpeg-args.ts";
import { StderrTail } from "./ffmpeg-stderr.ts";
import { type CutPacket, FramingError, PacketCutter } from "./packet-cutter.ts";

/** One raw yuv420p frame, for the encoder processes (src/media/video-encoder.ts). */
export interface RawFrame {
  data: Uint8Array;
  /** Capture time of the frame, in Unix-epoch nanoseconds. */
  captureNs: bigint;
}

export interface CaptureEvents {
  video(frame: RawFrame): void;
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
 * The capture ffmpeg: raw video frames and 48 kHz PCM, each on its own pipe as framecrc-announced packets
 * (see PacketCutter). Packets are cut the moment their last byte arrives and stamped on the
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

  constructor(ffmpeg: string, args: string[], readonly events: CaptureEvents) {
    // Its own process group: a terminal's Ctrl+C (or a signal to whipcast's group) reaches
    // whipcast alone, which then stops the pipeline in order (capture first, then encoders).
    // Left behind by a killed whipcast, it ends at its next write to a closed pipe.
    this.#child = spawn(ffmpeg, args, { stdio: ["ignore", "ignore", "pipe", "pipe", "pipe"], detached: true });
    const stdio = this.#child.stdio as unknown as (Readable | null)[];
    stdio[2]!.setEncoding("utf8").on("data", (d: string) => this.#stderr.push(d));
    const streamsDone = [this.#wire(stdio[PIPE.video]!, (p) => this.#onVideo(p)), this.#wire(stdio[PIPE.audio]!, (p) => this.#onAudio(p))];
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

  #wire(pipe: Readable, emit: (p: CutPacket) => void): Promise<void> {
    const cutter = new PacketCutter();
    pipe.on("data", (chunk: Buffer) => {
      if (this.#framingError) return;
      try {
        for (const p of cutter.push(new Uint8Array(chunk.buffer, chunk.byteOffset, chunk.byteLength))) emit(p);
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

  #onVideo(p: CutPacket): void {
    this.#packets.video++;
    this.events.video({ data: p.data, captureNs: this.#captureNs(p.ptsNs, nowNs()) });
  }

  #onAudio(p: CutPacket): void {
    this.#packets.audio++;
    this.events.audio(p.data, this.#captureNs(p.ptsNs, nowNs()));
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
