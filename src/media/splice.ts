/**
 * Splicing a new encoder's output onto the old one's at an IDR, so the receiver sees one
 * stream with no gap (same SSRC, sequence numbers and timestamps continue: they are stamped
 * downstream). Frames are numbered in capture order. At a switch, frame `at` and everything after
 * go to the new encoder only, and the old one's input ends: its last frame is `at − 1`. A fresh
 * encoder's first output is an IDR, so frame `at` starts a decodable picture.
 *
 * Output leaves in frame order: the new encoder's frames are held until the old one has produced
 * frame `at − 1` or ended. Pure: the caller runs the processes.
 */
export interface SplicedFrame<T> {
  encoder: number;
  frame: number;
  keyframe: boolean;
  data: T;
}

export class Splice<T> {
  #current: number;
  #switch: { next: number; at: number; held: SplicedFrame<T>[] } | undefined;
  #lastSent = -1;

  constructor(firstEncoder: number) {
    this.#current = firstEncoder;
  }

  /** The encoder whose frames are being sent. */
  get current(): number {
    return this.#current;
  }

  /** The encoder being spliced in, while the old one finishes. */
  get pending(): number | undefined {
    return this.#switch?.next;
  }

  /** Switch to `next` from frame `at` on (the old encoder gets frames before `at` only). */
  begin(next: number, at: number): void {
    if (this.#switch) throw new RangeError(`encoder ${this.#switch.next} is still being spliced in`);
    this.#switch = { next, at, held: [] };
  }

  /** One encoded frame from any encoder: what to send now, in order. */
  push(out: SplicedFrame<T>): SplicedFrame<T>[] {
    const s = this.#switch;
    if (out.encoder === this.#current) {
      const send = this.#take(out);
      // The old encoder's part ends with frame at − 1: the new one's frames may go.
      if (s && out.frame >= s.at - 1) send.push(...this.#finish());
      return send;
    }
    if (s && out.encoder === s.next) {
      s.held.push(out);
      return [];
    }
    return []; // a retired encoder's late frame
  }

  /** The old encoder ended before its last frame came out (it had none left): switch now. */
  currentEnded(): SplicedFrame<T>[] {
    return this.#switch ? this.#finish() : [];
  }

  #finish(): SplicedFrame<T>[] {
    const s = this.#switch!;
    this.#switch = undefined;
    this.#current = s.next;
    return s.held.flatMap((f) => this.#take(f));
  }

  /** Never send a frame twice or out of order. */
  #take(f: SplicedFrame<T>): SplicedFrame<T>[] {
    if (f.frame <= this.#lastSent) return [];
    this.#lastSent = f.frame;
    return [f];
  }
}
