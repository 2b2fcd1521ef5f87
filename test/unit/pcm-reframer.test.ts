import { describe, expect, test } from "bun:test";
import fc from "fast-check";
import { PcmReframer } from "../../src/codec/pcm-reframer.ts";

const FRAME_BYTES = 960 * 2 * 2;

function chunked(bytes: Uint8Array, sizes: number[]): Uint8Array[] {
  const out: Uint8Array[] = [];
  let at = 0;
  for (let i = 0; at < bytes.length; i++) {
    const n = Math.max(1, sizes[i % sizes.length]!);
    out.push(bytes.subarray(at, Math.min(bytes.length, at + n)));
    at += n;
  }
  return out;
}

describe("PcmReframer", () => {
  test("random chunk sizes in, exact 960-sample frames out, nothing lost or repeated", () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 40 * FRAME_BYTES + 999 }), fc.array(fc.integer({ min: 1, max: 3 * FRAME_BYTES }), { minLength: 1, maxLength: 50 }), (length, sizes) => {
        const input = new Uint8Array(length);
        for (let i = 0; i < length; i++) input[i] = (i * 7 + (i >> 8)) & 0xff;
        const r = new PcmReframer();
        const frames = chunked(input, sizes).flatMap((c) => r.push(c, 5_000_000_000n));
        expect(frames.length).toBe(Math.floor(length / FRAME_BYTES));
        expect(r.bufferedBytes).toBe(length % FRAME_BYTES);
        frames.forEach((f, k) => {
          expect(f.samples.length).toBe(960 * 2);
          expect(f.index).toBe(k);
          expect(new Uint8Array(f.samples.buffer, f.samples.byteOffset, f.samples.byteLength)).toEqual(input.subarray(k * FRAME_BYTES, (k + 1) * FRAME_BYTES));
        });
      }),
    );
  });

  test("frame times follow the sample count from the first chunk's capture time", () => {
    const r = new PcmReframer();
    const frames = [...r.push(new Uint8Array(FRAME_BYTES * 2 + 10), 1_000n), ...r.push(new Uint8Array(FRAME_BYTES), 999_999_999n)];
    expect(frames.map((f) => f.captureNs)).toEqual([1_000n, 1_000n + 20_000_000n, 1_000n + 40_000_000n]);
  });

  test("a frame length that is not a whole number of ns is refused", () => {
    expect(() => new PcmReframer(7, 2, 48_000)).toThrow("whole number");
  });
});
