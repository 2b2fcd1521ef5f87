import { describe, expect, test } from "bun:test";
import fc from "fast-check";
import { NAL_IDR, NAL_PPS, NAL_SPS, nalUnitTypes, ParameterSetKeeper } from "../../src/media/annexb.ts";
import { parseFramecrcLine, toNanoseconds } from "../../src/media/framecrc.ts";
import { type CutPacket, PacketCutter } from "../../src/media/packet-cutter.ts";

const SC4 = [0, 0, 0, 1];
const SC3 = [0, 0, 1];
const sps = [0x67, 0x42, 0xc0, 0x1f, 0xda];
const pps = [0x68, 0xce, 0x3c, 0x80];
const idr = [0x65, 0x88, 0x84, 0x00, 0x00, 0x03, 0x01, 0x22];
const slice = [0x41, 0x9a, 0x02, 0x00, 0x00, 0x00, 0x07];
const au = (...nals: number[][]) => new Uint8Array(nals.flatMap((n, i) => [...(i % 2 ? SC3 : SC4), ...n]));

describe("framecrc lines", () => {
  test.each([
    ["#tb 0: 1/30", { kind: "timebase", stream: 0, timeBase: { num: 1, den: 30 } }],
    ["0,          0,          0,        1,    27370, 0xa994e287, S=1,        8", { kind: "packet", packet: { stream: 0, dts: 0n, pts: 0n, duration: 1, size: 27370, keyframe: true } }],
    ["0,          1,          1,        1,     9967, 0xc3b26d6b, F=0x0, S=1,        8", { kind: "packet", packet: { stream: 0, dts: 1n, pts: 1n, duration: 1, size: 9967, keyframe: false } }],
    ["0,       1024,       1024,     1024,     4096, 0xea890338", { kind: "packet", packet: { stream: 0, dts: 1024n, pts: 1024n, duration: 1024, size: 4096, keyframe: true } }],
    ["0,         -2,         -1,        1,      100, 0x00000001, F=0x1", { kind: "packet", packet: { stream: 0, dts: -2n, pts: -1n, duration: 1, size: 100, keyframe: true } }],
    ["#software: Lavf59.27.100", { kind: "other" }],
    ["garbage", { kind: "other" }],
  ])("%s", (line, expected) => {
    expect(parseFramecrcLine(line)).toEqual(expected as ReturnType<typeof parseFramecrcLine>);
  });

  test("time base conversion is exact", () => {
    expect(toNanoseconds(3n, { num: 1, den: 30 })).toBe(100_000_000n);
    expect(toNanoseconds(48_000n, { num: 1, den: 48_000 })).toBe(1_000_000_000n);
    expect(toNanoseconds(1_700_000_000_000_000n, { num: 1, den: 1_000_000 })).toBe(1_700_000_000_000_000_000n);
  });
});

describe("Annex B access units cut by framecrc sizes", () => {
  const units = [au(sps, pps, idr), au(slice), au(slice, slice), au(sps, pps, idr, idr), au(slice)];
  const index = ["#tb 0: 1/30", ...units.map((u, k) => `0, ${k}, ${k}, 1, ${u.length}, 0x0${k % 3 === 0 ? "" : ", F=0x0"}`)].join("\n") + "\n";
  const data = new Uint8Array(units.flatMap((u) => [...u]));

  test("any interleaving and chunking of the two pipes yields the same access units, each as soon as complete", () => {
    fc.assert(
      fc.property(fc.array(fc.integer({ min: 1, max: 40 }), { minLength: 1, maxLength: 20 }), fc.array(fc.integer({ min: 1, max: 30 }), { minLength: 1, maxLength: 20 }), fc.array(fc.boolean(), { minLength: 1, maxLength: 40 }), (dataSizes, textSizes, order) => {
        const cutter = new PacketCutter();
        const out: CutPacket[] = [];
        let d = 0;
        let t = 0;
        let step = 0;
        while (d < data.length || t < index.length) {
          const takeData = t >= index.length || (d < data.length && order[step % order.length]);
          if (takeData) {
            const n = dataSizes[step % dataSizes.length]!;
            out.push(...cutter.pushData(data.subarray(d, d + n)));
            d += n;
          } else {
            const n = textSizes[step % textSizes.length]!;
            out.push(...cutter.pushIndex(index.slice(t, t + n)));
            t += n;
          }
          step++;
          // Never more out than both pipes have fully delivered.
          expect(out.reduce((s, p) => s + p.data.length, 0)).toBeLessThanOrEqual(d);
        }
        expect(out.map((p) => [...p.data])).toEqual(units.map((u) => [...u]));
        expect(out.map((p) => p.ptsNs)).toEqual(units.map((_, k) => toNanoseconds(BigInt(k), { num: 1, den: 30 })));
        expect(out.map((p) => p.keyframe)).toEqual([true, false, false, true, false]);
        expect(cutter.bufferedBytes).toBe(0);
      }),
    );
  });

  test("NAL unit types across 3- and 4-byte start codes, with emulation-prevention bytes inside", () => {
    expect(nalUnitTypes(au(sps, pps, idr))).toEqual([NAL_SPS, NAL_PPS, NAL_IDR]);
    expect(nalUnitTypes(au(slice, slice))).toEqual([1, 1]);
  });

  test("SPS/PPS are put back in front of an IDR that lacks them", () => {
    const keeper = new ParameterSetKeeper();
    expect(keeper.apply(au(sps, pps, idr))).toEqual(au(sps, pps, idr));
    expect(keeper.apply(au(slice))).toEqual(au(slice));
    const repaired = keeper.apply(new Uint8Array([...SC4, ...idr]));
    expect(nalUnitTypes(repaired)).toEqual([NAL_SPS, NAL_PPS, NAL_IDR]);
    expect(repaired).toEqual(new Uint8Array([...SC4, ...sps, ...SC4, ...pps, ...SC4, ...idr]));
  });
});
