/**
 * The RTP header extensions whipcast writes besides transport-wide-cc (RFC 8285 one-byte
 * elements), as pure encoders and decoders: what goes on the wire is table-tested here, and the
 * sender pipeline only decides which packet carries which.
 */
import { ntpFromUnixNs, unixNsFromNtp } from "./ntp.ts";

export const TRANSPORT_CC_URI = "http://www.ietf.org/id/draft-holmer-rmcat-transport-wide-cc-extensions-01";

/**
 * Absolute capture time (webrtc.org experimental, "abs-capture-time"): the NTP time at which
 * the frame was captured, on the same clock as the Sender Reports' NTP timestamps, and the
 * estimated offset between that clock and the sender's. With it a receiver knows each frame's
 * capture instant, so glass-to-glass delay can be measured anywhere (Chromium's
 * requestVideoFrameCallback reports it as `captureTime`).
 */
export const ABS_CAPTURE_TIME_URI = "http://www.webrtc.org/experiments/rtp-hdrext/abs-capture-time";

/**
 * Playout delay (webrtc.org experimental, "playout-delay"): the range of delay the sender wants
 * the receiver's jitter buffer to keep between a frame's arrival and its rendering. libwebrtc
 * renders frames as soon as they are decoded when the minimum is 0 and the maximum is small.
 */
export const PLAYOUT_DELAY_URI = "http://www.webrtc.org/experiments/rtp-hdrext/playout-delay";

/** Both fields of abs-capture-time: 8 bytes of NTP time, then 8 of signed clock offset. */
export interface AbsCaptureTime {
  /** Capture instant, Unix-epoch nanoseconds. */
  captureNs: bigint;
  /**
   * The capture clock minus the sender's NTP clock, in nanoseconds (Q32.32 seconds on the
   * wire). 0 when the sender is the capturer. Undefined when the element had only 8 bytes.
   */
  clockOffsetNs?: bigint;
}

const NS_PER_SECOND = 1_000_000_000n;
const U64 = 1n << 64n;

/**
 * The 16-byte form: capture time as UQ32.32 NTP, and the capture clock offset as Q32.32. A
 * sender that captured the frame itself sends offset 0, which tells the receiver the timestamp is
 * on the sender's own NTP clock; libwebrtc maps it to the local clock only when the offset is
 * present, so the 8-byte form would leave Chromium without a captureTime.
 */
export function encodeAbsCaptureTime(captureNs: bigint, clockOffsetNs = 0n): Buffer {
  const out = Buffer.allocUnsafe(16);
  // The fraction rounded up, not down (ntpFromUnixNs): 2^32 units a second are finer than 1 ns,
  // so the decoder's floor then gives back the exact nanosecond.
  const ntp = ntpFromUnixNs(captureNs);
  const inexact = ((captureNs % NS_PER_SECOND) << 32n) % NS_PER_SECOND !== 0n;
  out.writeBigUInt64BE(inexact ? ntp + 1n : ntp, 0);
  const q = (clockOffsetNs << 32n) / NS_PER_SECOND;
  out.writeBigUInt64BE(q < 0n ? q + U64 : q, 8);
  return out;
}

export function decodeAbsCaptureTime(payload: Uint8Array): AbsCaptureTime | undefined {
  if (payload.length !== 8 && payload.length !== 16) return undefined;
  const view = new DataView(payload.buffer, payload.byteOffset, payload.byteLength);
  const captureNs = unixNsFromNtp(view.getBigUint64(0));
  if (payload.length === 8) return { captureNs };
  return { captureNs, clockOffsetNs: (view.getBigInt64(8) * NS_PER_SECOND) >> 32n };
}

/** The playout-delay bounds' unit on the wire (12 bits each). */
const PLAYOUT_UNIT_MS = 10;
const PLAYOUT_MAX_MS = 0xfff * PLAYOUT_UNIT_MS;

export interface PlayoutDelay {
  minMs: number;
  maxMs: number;
}

/** 3 bytes: 12-bit minimum, 12-bit maximum, each in 10 ms units (rounded up, so never below what was asked). */
export function encodePlayoutDelay({ minMs, maxMs }: PlayoutDelay): Buffer {
  if (!(minMs >= 0 && maxMs >= minMs && maxMs <= PLAYOUT_MAX_MS)) throw new RangeError(`playout delay must satisfy 0 ≤ min ≤ max ≤ ${PLAYOUT_MAX_MS} ms (got ${minMs}–${maxMs})`);
  const min = Math.ceil(minMs / PLAYOUT_UNIT_MS);
  const max = Math.ceil(maxMs / PLAYOUT_UNIT_MS);
  return Buffer.from([min >> 4, ((min & 0xf) << 4) | (max >> 8), max & 0xff]);
}

export function decodePlayoutDelay(payload: Uint8Array): PlayoutDelay | undefined {
  if (payload.length !== 3) return undefined;
  const min = (payload[0]! << 4) | (payload[1]! >> 4);
  const max = ((payload[1]! & 0xf) << 8) | payload[2]!;
  return { minMs: min * PLAYOUT_UNIT_MS, maxMs: max * PLAYOUT_UNIT_MS };
}
