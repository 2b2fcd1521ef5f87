import type { RTCPeerConnection, RtpPacket } from "werift";
import { buildTwcc, maxDeltaFits, SequenceUnwrapper } from "../rtp/twcc.ts";
import { TRANSPORT_CC_URI } from "../rtp/header-extensions.ts";

/** Feedback goes out this often while packets arrive (libwebrtc: 100 ms; finer helps GCC). */
const INTERVAL_MS = 50;
/** At most this many packets per feedback, so one always fits a datagram. */
const MAX_PER_FEEDBACK = 400;

interface PeerInternals {
  router: { extIdUriMap: Record<number, string> };
  dtlsTransports?: DtlsInternals[];
}

interface DtlsInternals {
  state: string;
  onRtp: { subscribe(listener: (packet: RtpPacket) => void): { unSubscribe(): void } };
  sendRtcp(packets: { serialize(): Buffer }[]): Promise<unknown>;
}

interface ReceiverInternals {
  setupTWCC: (ssrc: number) => void;
  receiverTWCC: unknown;
}

/**
 * The receiving side of transport-wide congestion control: every packet's arrival time, by its
 * transport-wide sequence number, reported back in TWCC feedback (draft-holmer-rmcat-transport-
 * wide-cc-extensions-01 §3.1) every 50 ms. werift's own receiver feedback is switched off: its
 * loop never runs and its chunks misreport losses (shared notes, werift-sender-facts). With
 * this, whipcast and browsers publishing into `serve` can adapt to the path to it.
 */
export class TwccResponder {
  readonly #arrivals = new Map<number, number>();
  readonly #unwrap = new SequenceUnwrapper();
  #next: number | undefined;
  #highest: number | undefined;
  #feedbackCount = 0;
  #timer: ReturnType<typeof setInterval> | undefined;
  #subscription: { unSubscribe(): void } | undefined;
  #dtls: DtlsInternals | undefined;
  readonly #origin = performance.now();
  #mediaSsrc = 0;

  constructor(
    readonly pc: RTCPeerConnection,
    readonly senderSsrc: number,
    readonly now: () => number = () => performance.now(),
  ) {
    pc.onTransceiverAdded.subscribe((t) => {
      const r = t.receiver as unknown as ReceiverInternals;
      r.setupTWCC = () => {};
      r.receiverTWCC = undefined;
    });
  }

  /** Start listening on the peer's transport (call once it is connected). */
  start(): void {
    if (this.#subscription) return;
    const peer = this.pc as unknown as PeerInternals;
    const dtls = peer.dtlsTransports?.find((d) => d.state === "connected") ?? peer.dtlsTransports?.[0];
    // Each m-section may give the extension its own id (BUNDLE shares the transport, not the ids).
    const ids = new Set(Object.entries(peer.router.extIdUriMap).filter(([, uri]) => uri === TRANSPORT_CC_URI).map(([id]) => Number(id)));
    if (!dtls || ids.size === 0) return;
    this.#dtls = dtls;
    this.#subscription = dtls.onRtp.subscribe((packet) => {
      const ext = packet.header.extensions.find((e) => ids.has(e.id));
      if (!ext || ext.payload.length < 2) return;
      this.#mediaSsrc = packet.header.ssrc;
      this.record(ext.payload.readUInt16BE(0), (this.now() - this.#origin) * 1000);
    });
    this.#timer = setInterval(() => this.flush(), INTERVAL_MS);
  }

  /** One packet's arrival (µs on this side's clock). */
  record(sequence16: number, arrivalUs: number): void {
    const seq = this.#unwrap.unwrap(sequence16);
    if (this.#next !== undefined && seq < this.#next) return; // already reported
    this.#arrivals.set(seq, arrivalUs);
    this.#next ??= seq;
    if (this.#highest === undefined || seq > this.#highest) this.#highest = seq;
  }

  /** Feedback for everything from the last reported packet on; returns the packets built. */
  build(): Uint8Array[] {
    const out: Uint8Array[] = [];
    while (this.#next !== undefined && this.#highest !== undefined && this.#next <= this.#highest) {
      const base = this.#next;
      const arrivals: (number | undefined)[] = [];
      let previous: number | undefined;
      let seq = base;
      for (; seq <= this.#highest && arrivals.length < MAX_PER_FEEDBACK; seq++) {
        const at = this.#arrivals.get(seq);
        if (at !== undefined && previous !== undefined && !maxDeltaFits(at - previous)) break;
        arrivals.push(at);
        if (at !== undefined) previous = at;
        this.#arrivals.delete(seq);
      }
      this.#next = seq;
      out.push(buildTwcc({ senderSsrc: this.senderSsrc, mediaSsrc: this.#mediaSsrc, baseSequence: base & 0xffff, feedbackCount: this.#feedbackCount++, arrivalsUs: arrivals }));
    }
    return out;
  }

  flush(): void {
    const dtls = this.#dtls;
    if (!dtls || dtls.state !== "connected") return;
    for (const bytes of this.build()) {
      void dtls.sendRtcp([{ serialize: () => Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength) }]).catch(() => {});
    }
  }

  stop(): void {
    clearInterval(this.#timer);
    this.#subscription?.unSubscribe();
  }
}
