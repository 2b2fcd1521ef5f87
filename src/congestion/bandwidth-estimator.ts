import { AimdRateControl, clamp } from "./aimd.ts";
import { type BandwidthUsage, DelayBasedDetector } from "./delay-based.ts";
import { LossBasedControl } from "./loss-based.ts";
import { type ProbeCluster, ProbeController, ProbeResults } from "./probe.ts";
import type { PacketResult } from "./send-log.ts";

/**
 * Send-side bandwidth estimation after Google Congestion Control (draft-ietf-rmcat-gcc-02,
 * libwebrtc's goog_cc): the target is the lowest of the delay-based estimate (TWCC arrival
 * times), the loss-based limit, and the receiver's REMB. Without TWCC feedback, receiver reports
 * drive the loss-based part alone. Pure: every input carries its time.
 */
export interface EstimatorOptions {
  minBps: number;
  maxBps: number;
  startBps: number;
}

/** Why the target last moved, in words a log line can carry. */
export type EstimateReason = "start" | "delay rising" | "queue draining" | "link clear" | "loss" | "loss cleared" | "receiver limit" | "probe";

/**
 * A probe that fails (the link is slower than it) leaves a queue behind, which the media packets
 * behind it see as rising delay. That rise is the probe's, not a trend: overuse seen this soon
 * after a probe was sent holds the rate instead of cutting it. Real congestion outlasts it.
 */
const PROBE_GRACE_MS = 600;

/** How long a successful probe's rate stands in for the acknowledged rate as the basis of cuts. */
const PROBED_BASIS_MS = 3_000;

/** The acknowledged rate is measured over this much arrival time (300 ms when cutting). */
const ACKED_WINDOW_MS = 1_000;
const DECREASE_WINDOW_MS = 300;
/**
 * Loss is judged over at least this many packets and this long: a short window's noise under
 * steady random loss (5 % over 50 packets reads over 10 % one time in 25) would ratchet the
 * loss-based limit down, since between 2 and 10 % it only holds.
 */
const LOSS_WINDOW_PACKETS = 50;
const LOSS_WINDOW_MS = 1_000;

export class BandwidthEstimator {
  readonly #delay = new DelayBasedDetector();
  readonly #aimd: AimdRateControl;
  readonly #loss: LossBasedControl;
  readonly #probes: ProbeController;
  readonly #probeResults = new ProbeResults();
  #remb: number | undefined;
  #rttMs = 100;
  #target: number;
  #reason: EstimateReason = "start";
  #acked: { arrivalMs: number; size: number }[] = [];
  #lossCount = { lost: 0, total: 0, sinceMs: undefined as number | undefined };
  #lastDecreaseMs: number | undefined;
  #sawTwcc = false;
  #probeGraceUntil = -Infinity;
  /** A probe's measured rate, for a few seconds the basis of any cut (see onTransportFeedback). */
  #probed: { bps: number; untilMs: number } | undefined;

  constructor(readonly options: EstimatorOptions) {
    this.#aimd = new AimdRateControl(options);
    this.#loss = new LossBasedControl(options.minBps, options.maxBps, options.maxBps);
    this.#probes = new ProbeController(options.maxBps);
    this.#target = clamp(options.startBps, options.minBps, options.maxBps);
  }

  get targetBps(): number {
    return this.#target;
  }

  get reason(): EstimateReason {
    return this.#reason;
  }

  /** Fraction of packets lost in the last complete loss window (TWCC or receiver reports). */
  get lossFraction(): number {
    return this.#loss.lossFraction;
  }

  /**
   * The receive rate over the last `windowMs` of arrivals, if enough arrived to tell. Cuts use a
   * short window (during overuse the recent receive rate is the link's); the increase cap a long
   * one (steady through keyframes).
   */
  ackedBps(windowMs = ACKED_WINDOW_MS): number | undefined {
    const newest = this.#acked[this.#acked.length - 1]?.arrivalMs;
    const a = newest === undefined ? [] : this.#acked.filter((p) => p.arrivalMs >= newest - windowMs);
    // A short window needs enough packets to mean anything (a delay spike empties it).
    if (a.length < (windowMs < ACKED_WINDOW_MS ? 30 : 5)) return undefined;
    const span = a[a.length - 1]!.arrivalMs - a[0]!.arrivalMs;
    if (span < 100) return undefined;
    const bytes = a.reduce((n, p) => n + p.size, 0) - a[0]!.size;
    return (bytes * 8 * 1000) / span;
  }

  /** Results of one TWCC feedback, in send order. */
  onTransportFeedback(results: readonly PacketResult[], nowMs: number): void {
    if (results.length === 0) return;
    this.#sawTwcc = true;
    this.#lossCount.sinceMs ??= nowMs;
    for (const r of results) {
      this.#lossCount.total++;
      if (r.arrivalMs === undefined) this.#lossCount.lost++;
      else if (r.probeCluster === undefined) this.#acked.push({ arrivalMs: r.arrivalMs, size: r.size });
    }
    const newest = this.#acked[this.#acked.length - 1]?.arrivalMs;
    if (newest !== undefined) while (this.#acked.length > 0 && this.#acked[0]!.arrivalMs < newest - ACKED_WINDOW_MS) this.#acked.shift();

    for (const { clusterId, bps } of this.#probeResults.add(results)) {
      this.#probes.onResult(clusterId, bps);
      if (bps > this.#aimd.rate) {
        this.#probed = { bps, untilMs: nowMs + PROBED_BASIS_MS };
        this.#aimd.set(bps, nowMs);
        this.#loss.raiseTo(bps);
        this.#settle("probe", nowMs);
      }
    }

    // Probe padding is judged by its own rule (a clean pass or nothing); its queueing when it
    // fails is the probe's own doing, not a trend in the media's delay.
    const detected = this.#delay.update(results.filter((r) => r.probeCluster === undefined));
    const usage: BandwidthUsage = detected === "overusing" && nowMs < this.#probeGraceUntil ? "underusing" : detected;
    const before = this.#aimd.rate;
    // Just after a jump to a probed rate the acknowledged rate still shows the old, lower send
    // rate; a cut then is made from what the probe showed the link carries.
    let acked = usage === "overusing" ? (this.ackedBps(DECREASE_WINDOW_MS) ?? this.ackedBps()) : this.ackedBps();
    if (this.#probed && nowMs < this.#probed.untilMs) acked = Math.max(acked ?? 0, this.#probed.bps);
    this.#aimd.update(usage, acked, this.#rttMs, nowMs);
    if (this.#aimd.rate < before) this.#lastDecreaseMs = nowMs;

    if (this.#lossCount.total >= LOSS_WINDOW_PACKETS && nowMs - this.#lossCount.sinceMs! >= LOSS_WINDOW_MS) {
      this.#loss.update(this.#lossCount.lost / this.#lossCount.total, this.#rttMs, nowMs, this.#target);
      this.#lossCount = { lost: 0, total: 0, sinceMs: nowMs };
    }
    this.#settle(detected === "overusing" ? "delay rising" : detected === "underusing" ? "queue draining" : "link clear", nowMs);
  }

  /**
   * A receiver report (RFC 3550 §6.4.2): its loss drives the loss-based part when there is no
   * TWCC, and its round trip feeds both.
   */
  onReceiverReport(fractionLost: number, rttMs: number | undefined, nowMs: number): void {
    if (rttMs !== undefined && rttMs >= 0 && rttMs < 10_000) this.#rttMs = 0.8 * this.#rttMs + 0.2 * rttMs;
    if (this.#sawTwcc) return;
    this.#loss.update(fractionLost, this.#rttMs, nowMs, this.#target);
    // Without delay feedback, the delay-based part follows the loss-based one.
    this.#aimd.set(this.#loss.rate, nowMs);
    this.#settle(fractionLost > 0.1 ? "loss" : "link clear", nowMs);
  }

  /** REMB (draft-alvestrand-rmcat-remb-03): the receiver's own ceiling. */
  onRemb(bps: number, nowMs: number): void {
    this.#remb = bps > 0 ? bps : undefined;
    this.#settle("receiver limit", nowMs);
  }

  /** Whether to send a probe cluster now (see ProbeController). */
  probe(nowMs: number): ProbeCluster | undefined {
    if (!this.#sawTwcc) return undefined;
    const cluster = this.#probes.poll(nowMs, this.#target, this.#lastDecreaseMs);
    if (cluster) {
      this.#probeResults.sent(cluster, nowMs);
      const durationMs = (cluster.packets * cluster.packetSize * 8 * 1000) / cluster.targetBps;
      this.#probeGraceUntil = nowMs + durationMs + PROBE_GRACE_MS;
    }
    return cluster;
  }

  /** How many packets of a probe cluster actually went out (fewer: no history to pad with). */
  probeSent(clusterId: number, packets: number): void {
    if (!this.#probeResults.resize(clusterId, packets)) {
      this.#probes.cancel(clusterId);
      this.#probeGraceUntil = -Infinity;
    }
  }

  #settle(why: EstimateReason, nowMs: number): void {
    const delay = this.#aimd.rate;
    const loss = this.#loss.rate;
    let next = Math.min(delay, loss);
    let reason: EstimateReason = why;
    if (loss < delay && loss < this.#target) reason = "loss";
    else if (why === "link clear" && loss > this.#target && delay > this.#target && this.#reason === "loss") reason = "loss cleared";
    if (this.#remb !== undefined && this.#remb < next) {
      next = this.#remb;
      reason = "receiver limit";
    }
    next = clamp(next, this.options.minBps, this.options.maxBps);
    if (next !== this.#target) {
      if (next < this.#target) this.#lastDecreaseMs = nowMs;
      this.#target = next;
      this.#reason = reason;
    }
  }
}
