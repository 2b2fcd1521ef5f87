import { describe, expect, test } from "bun:test";
import fc from "fast-check";
import { Splice, type SplicedFrame } from "../../src/media/splice.ts";

const f = (encoder: number, frame: number, keyframe = false): SplicedFrame<string> => ({ encoder, frame, keyframe, data: `${encoder}:${frame}` });
const frames = (out: SplicedFrame<string>[]) => out.map((o) => o.data);

describe("Splice: one stream from two encoders, switched at the new one's IDR", () => {
  test("the old encoder's frames before the splice point, then the new one's from its IDR", () => {
    const s = new Splice<string>(1);
    expect(frames(s.push(f(1, 0, true)))).toEqual(["1:0"]);
    expect(frames(s.push(f(1, 1)))).toEqual(["1:1"]);
    s.begin(2, 3); // frame 3 on goes to encoder 2
    // The new encoder is quick: its IDR for frame 3 is held until the old one has done frame 2.
    expect(frames(s.push(f(2, 3, true)))).toEqual([]);
    expect(s.current).toBe(1);
    expect(frames(s.push(f(1, 2)))).toEqual(["1:2", "2:3"]);
    expect(s.current).toBe(2);
    expect(frames(s.push(f(2, 4)))).toEqual(["2:4"]);
    // A late frame of the retired encoder is ignored.
    expect(frames(s.push(f(1, 3)))).toEqual([]);
  });

  test("an old encoder that ends without its last frame hands over at once", () => {
    const s = new Splice<string>(1);
    s.push(f(1, 0, true));
    s.begin(2, 2);
    expect(frames(s.push(f(2, 2, true)))).toEqual([]);
    expect(frames(s.currentEnded())).toEqual(["2:2"]);
    expect(frames(s.push(f(2, 3)))).toEqual(["2:3"]);
  });

  test("one switch at a time", () => {
    const s = new Splice<string>(1);
    s.begin(2, 5);
    expect(() => s.begin(3, 6)).toThrow(RangeError);
  });

  test("whatever the interleaving of the two encoders' outputs, frames leave once each, in order, old before new", () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 30 }), fc.integer({ min: 1, max: 30 }), fc.array(fc.boolean(), { minLength: 60, maxLength: 60 }), (at, tail, picks) => {
        const s = new Splice<string>(1);
        const oldFrames = Array.from({ length: at }, (_, i) => f(1, i, i === 0));
        const newFrames = Array.from({ length: tail }, (_, i) => f(2, at + i, i === 0));
        s.begin(2, at);
        const out: SplicedFrame<string>[] = [];
        let i = 0;
        let j = 0;
        for (const pickOld of picks) {
          if ((pickOld && i < oldFrames.length) || j >= newFrames.length) {
            if (i < oldFrames.length) out.push(...s.push(oldFrames[i++]!));
          } else out.push(...s.push(newFrames[j++]!));
        }
        while (i < oldFrames.length) out.push(...s.push(oldFrames[i++]!));
        while (j < newFrames.length) out.push(...s.push(newFrames[j++]!));
        expect(out.map((o) => o.frame)).toEqual(Array.from({ length: at + tail }, (_, k) => k));
        expect(out.every((o) => o.encoder === (o.frame < at ? 1 : 2))).toBe(true);
      }),
      { numRuns: 200 },
    );
  });
});
