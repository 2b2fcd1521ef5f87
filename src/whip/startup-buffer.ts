/**
 * Media made before DTLS connects. werift drops RTP written before the transport is up, which
 * would lose the first IDR and leave the receiver grey until the next one. So everything is held
 * here and flushed in capture order once connected. If connecting takes long, the buffer keeps
 * its byte budget by dropping from the front up to the next video keyframe, so what remains still
 * starts on an IDR.
 */
export interface Held {
  kind: "video" | "audio";
  keyframe: boolean;
  bytes: number;
}

export class StartupBuffer<T extends Held> {
  #items: T[] = [];
  #bytes = 0;

  constructor(readonly maxBytes: number) {}

  push(item: T): void {
    // Video before the first keyframe is undecodable: never hold it.
    if (item.kind === "video" && !item.keyframe && !this.#items.some((i) => i.kind === "video")) return;
    this.#items.push(item);
    this.#bytes += item.bytes;
    while (this.#bytes > this.maxBytes) {
      const next = this.#items.findIndex((i, k) => k > 0 && i.kind === "video" && i.keyframe);
      const cut = next > 0 ? next : 1;
      for (const dropped of this.#items.splice(0, cut)) this.#bytes -= dropped.bytes;
    }
  }

  /** Hand everything over, oldest first, and empty the buffer. */
  drain(): T[] {
    const out = this.#items;
    this.#items = [];
    this.#bytes = 0;
    return out;
  }

  get size(): number {
    return this.#items.length;
  }
}
