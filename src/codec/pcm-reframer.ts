/**
 * Re-frames interleaved s16le PCM arriving in chunks of any size (even odd byte counts) into
 * exact Opus frames. No sample is dropped or repeated: frame k holds samples
 * [k·frameSamples, (k+1)·frameSamples) of the concatenated input, and its capture time is derived
 * from its index (start + k·frame duration), never accumulated.
 */
export interface PcmFrame {
  /** Interleaved samples, `frameSamples × channels` long. */
  samples: Int16Array;
  /** Index of the frame since the stream started. */
  index: number;
  captureNs: bigint;
}

export class PcmReframer {
  readonly #frameBytes: number;
  readonly #frameNs: bigint;
  #pending: Uint8Array;
  #filled = 0;
  #index = 0;
  #startNs: bigint | undefined;

  constructor(
    readonly frameSamples = 960,
    readonly channels = 2,
    readonly sampleRate = 48_000,
  ) {
    this.#frameBytes = frameSamples * channels * 2;
    this.#frameNs = (BigInt(frameSamples) * 1_000_000_000n) / BigInt(sampleRate);
    if ((BigInt(frameSamples) * 1_000_000_000n) % BigInt(sampleRate) !== 0n) {
      throw new RangeError(`frame of ${frameSamples} samples is not a whole number of ns at ${sampleRate} Hz`);
    }
    this.#pending = new Uint8Array(this.#frameBytes);
  }

  /**
   * Add bytes. `captureNs` is the capture time of the chunk's first sample; only the first
   * chunk's value is used, later frame times follow from the sample count.
   */
  push(bytes: Uint8Array, captureNs: bigint): PcmFrame[] {
    this.#startNs ??= captureNs;
    const out: PcmFrame[] = [];
    let at = 0;
    while (at < bytes.length) {
      const n = Math.min(this.#frameBytes - this.#filled, bytes.length - at);
      this.#pending.set(bytes.subarray(at, at + n), this.#filled);
      this.#filled += n;
      at += n;
      if (this.#filled === this.#frameBytes) {
        const samples = new Int16Array(this.#pending.buffer, 0, this.#frameBytes / 2);
        out.push({ samples, index: this.#index, captureNs: this.#startNs + BigInt(this.#index) * this.#frameNs });
        this.#index++;
        this.#pending = new Uint8Array(this.#frameBytes);
        this.#filled = 0;
      }
    }
    return out;
  }

  /** Bytes held that do not yet make a full frame. */
  get bufferedBytes(): number {
    return this.#filled;
  }
}
