/**
 * H.264 Annex B byte streams (ITU-T H.264 Annex B; NAL unit types per Table 7-1).
 * Pure helpers over one access unit's bytes.
 */
export const NAL_IDR = 5;
export const NAL_SPS = 7;
export const NAL_PPS = 8;

/** One encoded video frame: every NAL unit of one picture, in Annex B form. */
export interface AccessUnit {
  data: Uint8Array;
  /** Capture time of the frame, in Unix-epoch nanoseconds. */
  captureNs: bigint;
  keyframe: boolean;
}

/** Offsets of each NAL unit's first byte (after its 3- or 4-byte start code). */
export function nalUnitOffsets(au: Uint8Array): { start: number; end: number }[] {
  const starts: { codeAt: number; start: number }[] = [];
  for (let i = 0; i + 2 < au.length; i++) {
    if (au[i] === 0 && au[i + 1] === 0) {
      if (au[i + 2] === 1) {
        starts.push({ codeAt: i > 0 && au[i - 1] === 0 ? i - 1 : i, start: i + 3 });
        i += 2;
      } else if (au[i + 2] !== 0) {
        i += 1;
      }
    }
  }
  return starts.map((s, k) => ({ start: s.start, end: k + 1 < starts.length ? starts[k + 1]!.codeAt : au.length }));
}

export function nalUnitTypes(au: Uint8Array): number[] {
  return nalUnitOffsets(au).map(({ start }) => (au[start] ?? 0) & 0x1f);
}

export function nalUnits(au: Uint8Array): Uint8Array[] {
  return nalUnitOffsets(au).map(({ start, end }) => au.subarray(start, end));
}

/**
 * Remembers the latest SPS and PPS and puts them in front of any IDR that arrives without them,
 * so every IDR is decodable on its own (a receiver joining or recovering needs them; some
 * hardware encoders only emit them once).
 */
export class ParameterSetKeeper {
  #sps: Uint8Array | undefined;
  #pps: Uint8Array | undefined;

  apply(au: Uint8Array): Uint8Array {
    const units = nalUnits(au);
    const types = units.map((u) => (u[0] ?? 0) & 0x1f);
    const sps = units[types.indexOf(NAL_SPS)];
    const pps = units[types.indexOf(NAL_PPS)];
    if (sps) this.#sps = sps.slice();
    if (pps) this.#pps = pps.slice();
    if (!types.includes(NAL_IDR)) return au;
    const missing: Uint8Array[] = [];
    if (!sps && this.#sps) missing.push(this.#sps);
    if (!pps && this.#pps) missing.push(this.#pps);
    if (missing.length === 0) return au;
    const startCode = [0, 0, 0, 1];
    const size = missing.reduce((n, u) => n + 4 + u.length, 0) + au.length;
    const out = new Uint8Array(size);
    let at = 0;
    for (const u of missing) {
      out.set(startCode, at);
      out.set(u, at + 4);
      at += 4 + u.length;
    }
    out.set(au, at);
    return out;
  }
}
