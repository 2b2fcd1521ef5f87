import { describe, expect, test } from "bun:test";
import fc from "fast-check";
import { KeyframeCache, replayTimestamps, startsKeyframe } from "../../src/server/keyframe-cache.ts";

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

describe("replayTimestamps", () => {
  const stamps = (input: number[], spacing: number) => replayTimestamps(input, spacing).packets.map((p) => p.timestamp);
  test.each([
    ["one frame", [100, 100], 180, [100, 100]],
    ["three frames end on the newest, spaced 2 ms at 90 kHz", [0, 0, 3000, 6000, 6000], 180, [6000 - 360, 6000 - 360, 6000 - 180, 6000, 6000]],
    ["across the u32 wrap", [0xffff_f000, 0x0000_0400], 180, [(0x0000_0400 - 180) >>> 0, 0x0000_0400]],
    ["a late retransmission keeps its frame's place", [10, 20, 10, 30], 1, [28, 29, 28, 30]],
    ["empty", [], 180, []],
  ])("%s", (_, input, spacing, expected) => {
    expect(stamps(input as number[], spacing as number)).toEqual(expected as number[]);
  });

  test("frames are numbered in order of first appearance", () => {
    expect(replayTimestamps([7, 7, 9, 7, 11], 180)).toEqual({
      frames: 3,
      packets: [
        { timestamp: (11 - 360) >>> 0, frame: 0 },
        { timestamp: (11 - 360) >>> 0, frame: 0 },
        { timestamp: (11 - 180) >>> 0, frame: 1 },
        { timestamp: (11 - 360) >>> 0, frame: 0 },
        { timestamp: 11, frame: 2 },
      ],
    });
  });

  test("property: ends on the newest frame; frame k is sent k spacings in and stamped k spacings after the first", () => {
    fc.assert(
      fc.property(fc.array(fc.integer({ min: 0, max: 0xffff_ffff }), { minLength: 1, maxLength: 200 }), fc.integer({ min: 1, max: 9_000 }), (raw, spacing) => {
        const frames = [...new Set(raw)];
        const plan = replayTimestamps(frames, spacing);
        expect(plan.frames).toBe(frames.length);
        expect(plan.packets.map((p) => p.frame)).toEqual(frames.map((_, i) => i));
        expect(plan.packets.at(-1)!.timestamp).toBe(frames.at(-1)!);
        for (let i = 1; i < frames.length; i++) expect((plan.packets[i]!.timestamp - plan.packets[i - 1]!.timestamp) >>> 0).toBe(spacing);
      }),
    );
  });
});

describe("KeyframeCache after the publisher went quiet", () => {
  test("a group older than the publisher's silence is not handed to a joining viewer; the next keyframe starts afresh", () => {
    const c = new KeyframeCache<string>(1_000_000, 2_000);
    c.push("k1", 0, 10, true, 1_000);
    c.push("p1", 3000, 10, false, 1_033);
    expect(c.snapshot(2_500).map((e) => e.packet)).toEqual(["k1", "p1"]);
    // 45 s of outage: what is cached is from before it.
    expect(c.snapshot(46_000)).toEqual([]);
    // Back: delta frames first are not decodable alone; the fresh IDR is.
    c.push("p2", 4_000_000, 10, false, 46_100);
    expect(c.snapshot(46_100)).toEqual([]);
    c.push("k2", 4_003_000, 10, true, 46_133);
    c.push("p3", 4_006_000, 10, false, 46_166);
    expect(c.snapshot(46_200).map((e) => e.packet)).toEqual(["k2", "p3"]);
  });
});
