/**
 * What a sender learns from a compound RTCP packet (RFC 3550 §6.4, RFC 4585 §6, RFC 5104 §4.3,
 * draft-alvestrand-rmcat-remb-03, TWCC): pure parsing of the reports and feedback that drive
 * congestion control and keyframes. Malformed parts end the walk; what came before is kept.
 */
import { parseTwcc, RTPFB, TWCC_FMT, type TwccFeedback } from "./twcc.ts";

export interface ReportBlock {
  ssrc: number;
  /** Fraction lost since the previous report, 0–1 (RFC 3550 §6.4.1). */
  fractionLost: number;
  /** Cumulative packets lost, a signed 24-bit value. */
  cumulativeLost: number;
  highestSequence: number;
  jitter: number;
  /** Middle 32 bits of the NTP time of the last SR received, 0 if none. */
  lastSr: number;
  /** Delay since that SR, in 1/65536 s. */
  delaySinceLastSr: number;
}

export type RtcpFeedback =
  | { type: "report"; senderSsrc: number; blocks: ReportBlock[] }
  | { type: "twcc"; feedback: TwccFeedback }
  | { type: "remb"; bitrate: number; ssrcs: number[] }
  | { type: "nack"; mediaSsrc: number; lost: number[] }
  | { type: "pli"; mediaSsrc: number }
  | { type: "fir"; ssrcs: number[] }
  /** RTCP XR Receiver Reference Time (RFC 3611 §4.4): a receiver without an SR asking for a DLRR, to learn its round trip. */
  | { type: "rrtr"; senderSsrc: number; ntp: bigint };

const SR = 200;
const RR = 201;
const PSFB = 206;
const XR = 207;
/** RFC 3611 §4.4 and §4.5 block types. */
const XR_RRTR = 4;
const XR_DLRR = 5;

export function parseRtcpFeedback(compound: Uint8Array): RtcpFeedback[] {
  const out: RtcpFeedback[] = [];
  const view = new DataView(compound.buffer, compound.byteOffset, compound.byteLength);
  let at = 0;
  while (at + 4 <= compound.length) {
    if (compound[at]! >> 6 !== 2) break;
    const count = compound[at]! & 0x1f;
    const pt = compound[at + 1]!;
    const length = (view.getUint16(at + 2) + 1) * 4;
    if (at + length > compound.length) break;
    const packet = compound.subarray(at, at + length);
    const pv = new DataView(packet.buffer, packet.byteOffset, packet.byteLength);
    try {
      if (pt === SR || pt === RR) {
        const first = pt === SR ? 28 : 8;
        const blocks: ReportBlock[] = [];
        for (let i = 0; i < count && first + (i + 1) * 24 <= length; i++) {
          const b = first + i * 24;
          const lost24 = (packet[b + 5]! << 16) | (packet[b + 6]! << 8) | packet[b + 7]!;
          blocks.push({
            ssrc: pv.getUint32(b),
            fractionLost: packet[b + 4]! / 256,
            cumulativeLost: lost24 & 0x800000 ? lost24 - 0x1000000 : lost24,
            highestSequence: pv.getUint32(b + 8),
            jitter: pv.getUint32(b + 12),
            lastSr: pv.getUint32(b + 16),
            delaySinceLastSr: pv.getUint32(b + 20),
          });
        }
        if (length >= 8) out.push({ type: "report", senderSsrc: pv.getUint32(4), blocks });
      } else if (pt === RTPFB && length >= 12) {
        if (count === TWCC_FMT) out.push({ type: "twcc", feedback: parseTwcc(packet) });
        else if (count === 1) {
          // Generic NACK (RFC 4585 §6.2.1): PID and a bitmask of the 16 following.
          const lost: number[] = [];
          for (let f = 12; f + 4 <= length; f += 4) {
            const pid = pv.getUint16(f);
            const mask = pv.getUint16(f + 2);
            lost.push(pid);
            for (let bit = 0; bit < 16; bit++) if (mask & (1 << bit)) lost.push((pid + bit + 1) & 0xffff);
          }
          out.push({ type: "nack", mediaSsrc: pv.getUint32(8), lost });
        }
      } else if (pt === XR && length >= 8) {
        // Report blocks, each: type, reserved, length in 32-bit words after its 4-byte header.
        for (let b = 8; b + 4 <= length; ) {
          const words = pv.getUint16(b + 2);
          if (packet[b] === XR_RRTR && words === 2 && b + 12 <= length) out.push({ type: "rrtr", senderSsrc: pv.getUint32(4), ntp: pv.getBigUint64(b + 4) });
          b += 4 + words * 4;
        }
      } else if (pt === PSFB && length >= 12) {
        if (count === 1) out.push({ type: "pli", mediaSsrc: pv.getUint32(8) });
        else if (count === 4) {
          // FIR (RFC 5104 §4.3.1.1): one 8-byte entry per SSRC asked for.
          const ssrcs: number[] = [];
          for (let f = 12; f + 8 <= length; f += 8) ssrcs.push(pv.getUint32(f));
          out.push({ type: "fir", ssrcs });
        } else if (count === 15 && length >= 20 && String.fromCharCode(packet[12]!, packet[13]!, packet[14]!, packet[15]!) === "REMB") {
          const n = packet[16]!;
          const exp = packet[17]! >> 2;
          const mantissa = ((packet[17]! & 0x3) << 16) | (packet[18]! << 8) | packet[19]!;
          const ssrcs: number[] = [];
          for (let i = 0; i < n && 20 + (i + 1) * 4 <= length; i++) ssrcs.push(pv.getUint32(20 + i * 4));
          out.push({ type: "remb", bitrate: mantissa * 2 ** exp, ssrcs });
        }
      }
    } catch {
      break;
    }
    at += length;
  }
  return out;
}

/** A REMB packet (draft-alvestrand-rmcat-remb-03 §2.2), as a receiver sends it. */
export function buildRemb(senderSsrc: number, bitrate: number, ssrcs: number[]): Uint8Array {
  let exp = 0;
  let mantissa = Math.max(0, Math.floor(bitrate));
  while (mantissa > 0x3ffff) {
    mantissa = Math.floor(mantissa / 2);
    exp++;
  }
  const out = new Uint8Array(20 + ssrcs.length * 4);
  const view = new DataView(out.buffer);
  out[0] = 0x80 | 15;
  out[1] = PSFB;
  view.setUint16(2, out.length / 4 - 1);
  view.setUint32(4, senderSsrc >>> 0);
  view.setUint32(8, 0);
  out.set([0x52, 0x45, 0x4d, 0x42], 12);
  out[16] = ssrcs.length;
  out[17] = (exp << 2) | (mantissa >> 16);
  out[18] = (mantissa >> 8) & 0xff;
  out[19] = mantissa & 0xff;
  ssrcs.forEach((s, i) => view.setUint32(20 + i * 4, s >>> 0));
  return out;
}

/** One DLRR sub-block (RFC 3611 §4.5): whose RRTR, its middle 32 NTP bits, and how long it was held (1/65536 s). */
export interface DlrrItem {
  ssrc: number;
  lastRr: number;
  delaySinceLastRr: number;
}

/** An RTCP XR packet with one DLRR block (RFC 3611 §2, §4.5), from `senderSsrc`. */
export function buildDlrr(senderSsrc: number, items: readonly DlrrItem[]): Uint8Array {
  const out = new Uint8Array(8 + 4 + items.length * 12);
  const v = new DataView(out.buffer);
  out[0] = 0x80;
  out[1] = XR;
  v.setUint16(2, out.length / 4 - 1);
  v.setUint32(4, senderSsrc);
  out[8] = XR_DLRR;
  v.setUint16(10, items.length * 3);
  items.forEach((item, i) => {
    v.setUint32(12 + i * 12, item.ssrc);
    v.setUint32(16 + i * 12, item.lastRr >>> 0);
    v.setUint32(20 + i * 12, item.delaySinceLastRr >>> 0);
  });
  return out;
}
