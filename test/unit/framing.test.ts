import { describe, expect, test } from "bun:test";
import fc from "fast-check";
import { NAL_IDR, NAL_PPS, NAL_SPS, nalUnitTypes, ParameterSetKeeper } from "../../src/media/annexb.ts";
import { parseFramecrcLine, toNanoseconds } from "../../src/media/framecrc.ts";
import { type CutPacket, FramingError, PacketCutter, PacketStream } from "../../src/media/packet-cutter.ts";

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

describe("Annex B access units cut from one pipe of framecrc line + packet bytes", () => {
  const units = [au(sps, pps, idr), au(slice), au(slice, slice), au(sps, pps, idr, idr), au(slice)];
  // A byte 0x0a inside packet data must not be taken for the end of a line.
  units[2] = new Uint8Array([...units[2]!, 0x0a, 0x0a, 0x30, 0x2c]);
  const enc = new TextEncoder();
  const header = enc.encode("#software: Lavf59.27.100\n#tb 0: 1/30\n#media_type 0: video\n");
  const stream = new Uint8Array([
    ...header,
    ...units.flatMap((u, k) => [...enc.encode(`0, ${k}, ${k}, 1, ${u.length}, 0x0${k % 3 === 0 ? "" : ", F=0x0"}\n`), ...u]),
  ]);
  // Where each packet's last byte lies in the stream.
  const ends: number[] = [];
  let at = header.length;
  for (const [k, u] of units.entries()) {
    at += enc.encode(`0, ${k}, ${k}, 1, ${u.length}, 0x0${k % 3 === 0 ? "" : ", F=0x0"}\n`).length + u.length;
    ends.push(at);
  }

  test("any chunking yields the same packets, each the moment its last byte arrives", () => {
    fc.assert(
      fc.property(fc.array(fc.integer({ min: 1, max: 60 }), { minLength: 1, maxLength: 30 }), (sizes) => {
        const cutter = new PacketCutter();
        const out: CutPacket[] = [];
        let pos = 0;
        for (let step = 0; pos < stream.length; step++) {
          const n = sizes[step % sizes.length]!;
          out.push(...cutter.push(stream.subarray(pos, pos + n)));
          pos = Math.min(stream.length, pos + n);
          // Exactly the packets whose last byte has arrived: none held back, none early.
          expect(out.length).toBe(ends.filter((e) => e <= pos).length);
        }
        expect(out.map((p) => [...p.data])).toEqual(units.map((u) => [...u]));
        expect(out.map((p) => p.ptsNs)).toEqual(units.map((_, k) => toNanoseconds(BigInt(k), { num: 1, den: 30 })));
        expect(out.map((p) => p.keyframe)).toEqual([true, false, false, true, false]);
        expect(cutter.bufferedBytes).toBe(0);
      }),
    );
  });

  test("cut-through: a packet's bytes are handed on in the push they arrive in, as views of the chunk, between its start and its end", () => {
    // Where each packet's first byte lies: its end less its size.
    const starts = ends.map((e, k) => e - units[k]!.length);
    fc.assert(
      fc.property(fc.array(fc.integer({ min: 1, max: 60 }), { minLength: 1, maxLength: 30 }), (sizes) => {
        const events: string[] = [];
        const bytes: number[][] = units.map(() => []);
        let packet = -1;
        let handed = 0;
        let chunk = new Uint8Array();
        const reader = new PacketStream({
          start: (h) => {
            packet++;
            events.push(`start ${h.size}`);
          },
          data: (b) => {
            // A view into the chunk just pushed, not a copy.
            expect(b.buffer).toBe(chunk.buffer);
            bytes[packet]!.push(...b);
            handed += b.byteLength;
          },
          end: () => events.push("end"),
        });
        let pos = 0;
        for (let step = 0; pos < stream.length; step++) {
          const n = sizes[step % sizes.length]!;
          chunk = stream.slice(pos, pos + n);
          reader.push(chunk);
          pos = Math.min(stream.length, pos + n);
          // Every packet byte that has arrived has been handed on: none waits for the rest.
          expect(handed).toBe(units.reduce((sum, u, k) => sum + Math.max(0, Math.min(u.length, pos - starts[k]!)), 0));
        }
        expect(events).toEqual(units.flatMap((u) => [`start ${u.length}`, "end"]));
        expect(bytes).toEqual(units.map((u) => [...u]));
        expect(reader.pendingLineBytes).toBe(0);
      }),
    );
  });

  test("a packet of size 0 starts and ends on its line", () => {
    const events: string[] = [];
    const reader = new PacketStream({ start: (h) => events.push(`start ${h.size}`), data: () => events.push("data"), end: () => events.push("end") });
    reader.push(enc.encode("#tb 0: 1/30\n0, 0, 0, 1, 0, 0x0\n0, 1, 1, 1, 2, 0x0\nab"));
    expect(events).toEqual(["start 0", "end", "start 2", "data", "end"]);
  });

  test.each([
    ["bytes where a line should be", new Uint8Array([...SC4, ...idr, 0x0a]), "expected a framecrc line"],
    ["a line that never ends", new Uint8Array(2000).fill(0x41), "no framecrc line in the next 1024 bytes"],
    ["a packet longer than announced", enc.encode(`#tb 0: 1/30\n0, 0, 0, 1, 3, 0x0\n${"abcdef"}\n`), "expected a framecrc line"],
  ])("lost framing is an error, not garbage: %s", (_, bytes, message) => {
    expect(() => new PacketCutter().push(bytes)).toThrow(new FramingError(message).message);
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
