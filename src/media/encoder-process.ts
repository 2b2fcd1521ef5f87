import { type ChildProcess, spawn } from "node:child_process";
import type { Readable, Writable } from "node:stream";
import { MediaError } from "../errors.ts";
import { type EncoderProcessPlan, encoderProcessArgs, PIPE } from "./ffmpeg-args.ts";
import { StderrTail } from "./ffmpeg-stderr.ts";
import { FramingError, PacketCutter } from "./packet-cutter.ts";

/** Raw frames allowed to wait in an encoder's stdin before new ones are skipped for it. */
const MAX_PENDING_FRAMES = 3;

export interface EncodedFrame {
  /** Index among the frames this process was fed (its own count, from 0). */
  index: number;
  data: Uint8Array;
  keyframe: boolean;
}

/**
 * One ffmpeg encoder process (encoderProcessArgs): raw frames in, H.264 access units out, each
 * with the index of the raw frame it encodes (from its pts: ffmpeg numbers input frames 0, 1, …
 * at the plan's fps). A process may be spawned ahead of need and wait, idle, until fed: ffmpeg's
 * start-up is most of a cold encoder's first-frame latency (measured: ~115 ms cold, ~20 ms warm).
 */
export class EncoderProcess {
  readonly #child: ChildProcess;
  readonly #stderr = new StderrTail();
  readonly #stdin: Writable;
  readonly spawnedAt = performance.now();
  readonly exited: Promise<MediaError | undefined>;
  #fed = 0;
  #ending = false;
  /**
   * Bytes written to its stdin and not yet taken by the pipe. Counted here, from each write's
   * callback: Bun keeps what the pipe cannot take in a buffer of its own and reports a
   * writableLength of 0 for it, so the stream cannot say how far behind the encoder is.
   */
  #unflushed = 0;

  constructor(
    ffmpeg: string,
    readonly id: number,
    readonly plan: EncoderProcessPlan,
    onFrame: (process: EncoderProcess, frame: EncodedFrame) => void,
  ) {
    // Its own process group, like the capture's (capture.ts): whipcast stops it, not Ctrl+C. It
    // ends by itself when its stdin closes.
    this.#child = spawn(ffmpeg, encoderProcessArgs(plan), { stdio: ["pipe", "ignore", "pipe", "pipe"], detached: true });
    const stdio = this.#child.stdio as unknown as (Readable | Writable | null)[];
    this.#stdin = stdio[0] as Writable;
    this.#stdin.on("error", () => {}); // EPIPE once the process is gone: its exit says why
    (stdio[2] as Readable).setEncoding("utf8").on("data", (d: string) => this.#stderr.push(d));
    const cutter = new PacketCutter();
    let framing: MediaError | undefined;
    const out = stdio[PIPE.encoded] as Readable;
    out.on("data", (chunk: Buffer) => {
      if (framing) return;
      try {
        for (const p of cutter.push(new Uint8Array(chunk.buffer, chunk.byteOffset, chunk.byteLength))) {
          const index = Math.round((Number(p.ptsNs) * plan.fps) / 1e9);
          onFrame(this, { index, data: p.data, keyframe: p.keyframe });
        }
      } catch (error) {
        if (!(error instanceof FramingError)) throw error;
        framing = new MediaError(`cannot read ffmpeg's output: ${error.message}`);
        this.#child.kill("SIGKILL");
      }
    });
    let spawnError: Error | undefined;
    this.#child.on("error", (e) => (spawnError = e));
    const outputDone = new Promise<void>((resolve) => out.on("close", () => resolve()).on("error", () => resolve()));
    const closed = new Promise<number | null>((resolve) => this.#child.on("close", (code) => resolve(code)));
    this.exited = Promise.all([closed, outputDone]).then(([code]) => {
      if (framing) return framing;
      if (this.#ending) return undefined;
      if (spawnError) return new MediaError(`cannot run ffmpeg: ${spawnError.message}`);
      const last = this.#stderr.lastError();
      return new MediaError(`the ${plan.encoder} encoder exited with ${code ?? "a signal"}${last ? `: ${last}` : ""}`);
    });
  }

  /** Bytes of raw frames given to it that its stdin has not taken yet. */
  get unflushedBytes(): number {
    return this.#unflushed;
  }

  /**
   * Begin one raw frame of `size` bytes, whose bytes then follow through write(); returns the
   * index it will carry, or undefined when the encoder is behind (its pipe holds
   * MAX_PENDING_FRAMES already) and the frame is skipped for it.
   */
  begin(size: number): number | undefined {
    if (this.#ending) return undefined;
    if (this.#unflushed > MAX_PENDING_FRAMES * size) return undefined;
    return this.#fed++;
  }

  /** The next bytes of the frame begun last. */
  write(bytes: Uint8Array): void {
    if (this.#stdin.destroyed) return;
    const n = bytes.byteLength;
    this.#unflushed += n;
    this.#stdin.write(bytes, () => {
      this.#unflushed -= n;
    });
  }

  /** Let it finish what it was given and exit. */
  end(): void {
    if (this.#ending) return;
    this.#ending = true;
    this.#stdin.end();
  }

  /** Stop it now (then SIGKILL after `graceMs`). Idempotent. */
  async stop(graceMs = 500): Promise<void> {
    this.#ending = true;
    if (this.#child.exitCode === null && this.#child.signalCode === null) {
      this.#stdin.destroy();
      this.#child.kill("SIGTERM");
      const force = setTimeout(() => this.#child.kill("SIGKILL"), graceMs);
      await this.exited;
      clearTimeout(force);
    }
    await this.exited;
  }

  get pid(): number | undefined {
    return this.#child.pid;
  }
}
