/**
 * How long each video frame took from its last byte leaving ffmpeg's pipe to its last RTP packet
 * leaving the socket. Kept as a histogram of 10 µs bins, so a stream of any length reports its
 * percentiles from fixed memory (40 KiB), to within one bin.
 */
export class SendLatency {
  static readonly BIN_NS = 10_000;
  /** 10 µs bins up to 100 ms; anything slower is counted in the last bin. */
  readonly #bins = new Uint32Array(10_000);
  #count = 0;

  add(latencyNs: number): void {
    const bin = Math.min(this.#bins.length - 1, Math.max(0, Math.floor(latencyNs / SendLatency.BIN_NS)));
    this.#bins[bin]!++;
    this.#count++;
  }

  get count(): number {
    return this.#count;
  }

  /** The p-th percentile in milliseconds (the upper edge of its bin); undefined with no samples. */
  percentileMs(p: number): number | undefined {
    if (this.#count === 0) return undefined;
    // Nearest-rank: the smallest value with at least p % of the samples at or below it.
    const rank = Math.max(1, Math.ceil((p / 100) * this.#count));
    let seen = 0;
    for (let bin = 0; bin < this.#bins.length; bin++) {
      seen += this.#bins[bin]!;
      if (seen >= rank) return ((bin + 1) * SendLatency.BIN_NS) / 1e6;
    }
    return undefined;
  }
}
