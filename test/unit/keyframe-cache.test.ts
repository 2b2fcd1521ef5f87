import { describe, expect, test } from "bun:test";
import fc from "fast-check";
import { KeyframeCache, squeezedTimestamps, startsKeyframe } from "../../src/server/keyframe-cache.ts";

describe("startsKeyframe (RFC 6184 payloads)", () => {
  test.each([
    ["single NAL: IDR slice", [0x65, 0x88], true],
    ["single NAL: SPS", [0x67, 0x42], true],
    ["single NAL: non-IDR slice", [0x41, 0x9a], false],
    ["single NAL: SEI", [0x06, 0x05], false],
    ["STAP-A with SPS + PPS", [0x78, 0x00, 0x02, 0x67, 0x42, 0x00, 0x02, 0x68, 0xce], true],
    ["STAP-A with SEI only", [0x78, 0x00, 0x02, 0x06, 0x05], false],
    ["FU-A start of IDR", [0x7c, 0x85, 0x88], true],
    ["FU-A middle of IDR", [0x7c, 0x05, 0x88], false],
    ["FU-A start of non-IDR", [0x7c, 0x81, 0x9a], false],
    ["empty", [], false],
  ])("%s", (_, bytes, expected) => {
    expect(startsKeyframe(new Uint8Array(bytes as number[]))).toBe(expected as boolean);
  });
});

describe("KeyframeCache", () => {
  test("keeps the group from the latest keyframe, with earlier packets of its access unit", () => {
    const c = new KeyframeCache<string>(1_000_000);
    c.push("p0", 0, 10, false); // before any keyframe: not decodable, not kept
    c.push("k1", 3000, 10, true);
    c.push("p1", 6000, 10, false);
    c.push("sei2", 9000, 10, false); // SEI of the next IDR's access unit arrives first
    c.push("k2", 9000, 10, true);
    c.push("k2b", 9000, 10, true); // more of the same IDR: same group
    c.push("p2", 12000, 10, false);
    expect(c.snapshot().map((e) => e.packet)).toEqual(["sei2", "k2", "k2b", "p2"]);
    expect(c.bytes).toBe(40);
  });

  test("a group larger than the cap is dropped whole; the next keyframe starts again", () => {
    const c = new KeyframeCache<string>(25);
    c.push("k1", 0, 10, true);
    c.push("p1", 1, 10, false);
    c.push("p2", 2, 10, false);
    expect(c.snapshot()).toEqual([]);
    c.push("p3", 3, 10, false);
    expect(c.snapshot()).toEqual([]);
    c.push("k2", 4, 10, true);
    expect(c.snapshot().map((e) => e.packet)).toEqual(["k2"]);
  });
});

describe("squeezedTimestamps", () => {
  test.each([
    ["one frame", [100, 100], [100, 100]],
    ["three frames end on the newest", [0, 0, 3000, 6000, 6000], [6000 - 2, 6000 - 2, 6000 - 1, 6000, 6000]],
    ["across the u32 wrap", [0xffff_f000, 0x0000_0400], [0x0000_03ff, 0x0000_0400]],
    ["a late retransmission keeps its frame's place", [10, 20, 10, 30], [28, 29, 28, 30]],
    ["empty", [], []],
  ])("%s", (_, input, expected) => {
    expect(squeezedTimestamps(input as number[])).toEqual(expected as number[]);
  });

  test("property: non-decreasing per frame order, ends on the newest frame, one tick apart", () => {
    fc.assert(
      fc.property(fc.array(fc.integer({ min: 0, max: 0xffff_ffff }), { minLength: 1, maxLength: 200 }), (raw) => {
        const frames = [...new Set(raw)];
        const out = squeezedTimestamps(frames);
        expect(out[out.length - 1]).toBe(frames[frames.length - 1]!);
        for (let i = 1; i < out.length; i++) expect((out[i]! - out[i - 1]!) >>> 0).toBe(1);
      }),
    );
  });
});
