/**
 * Per-frame send latencies (hand-off: the access unit read from the encoder → its last RTP
 * packet on the socket; pacing: queued → released). Kept as a histogram of fixed bins, so a
 * stream of any length reports its percentiles from fixed memory (40 KiB), to within one bin.
 */
export class SendLatency {
  static readonly BIN_NS = 10_000;
  readonly #bins: Uint32Array;
  #count = 0;

  /** Default: 10 µs bins up to 100 ms; anything slower is counted in the last bin. */
  constructor(
    readonly binNs = SendLatency.BIN_NS,
    bins = 10_000,
  ) {
    this.#bins = new Uint32Array(bins);
  }

  add(latencyNs: number): void {
    const bin = Math.min(this.#bins.length - 1, Math.max(0, Math.floor(latencyNs / this.binNs)));
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
      if (seen >= rank) return ((bin + 1) * this.binNs) / 1e6;
    }
    return undefined;
  }
}
