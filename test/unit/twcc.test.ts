import { describe, expect, test } from "bun:test";
import fc from "fast-check";
import { SendLog } from "../../src/congestion/send-log.ts";
import { buildRemb, parseRtcpFeedback } from "../../src/rtp/rtcp-feedback.ts";
import { buildTwcc, parseTwcc, SequenceUnwrapper, TwccParseError } from "../../src/rtp/twcc.ts";

/** A libwebrtc TWCC feedback as Wireshark decoded it: base 1, 9 packets, run-length small deltas. */
const LIBWEBRTC_FEEDBACK = new Uint8Array([
  0xaf, 0xcd, 0x00, 0x07, 0x00, 0x00, 0x00, 0x01, 0xdd, 0x58, 0x6e, 0xb6, 0x00, 0x01, 0x00, 0x09, 0x5e, 0x91, 0x10, 0x00, 0x20, 0x09, 0x1c, 0x0c, 0x2c, 0x38, 0x00, 0x04, 0x00, 0x08, 0x18,
  0x01,
]);

describe("TWCC feedback (draft-holmer-rmcat-transport-wide-cc-extensions-01 §3.1)", () => {
  test("parses libwebrtc's bytes: reference time, sequence numbers and 250 µs deltas", () => {
    const f = parseTwcc(LIBWEBRTC_FEEDBACK);
    expect(f.senderSsrc).toBe(1);
    expect(f.mediaSsrc).toBe(0xdd586eb6);
    expect(f.baseSequence).toBe(1);
    expect(f.referenceTime).toBe(6197520);
    expect(f.feedbackCount).toBe(0);
    const ref = 6197520 * 64_000;
    const deltasMs = [7, 3, 11, 14, 0, 1, 0, 2, 6];
    let t = ref;
    expect(f.packets.map((p) => p.sequence)).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9]);
    f.packets.forEach((p, i) => {
      t += deltasMs[i]! * 1000;
      expect(p.arrivalUs).toBe(t);
    });
  });

  test("status vector chunks (one- and two-bit), losses and a large negative delta", () => {
    // base 65534 (wraps), 4 packets: received, lost, received (−1 ms: large), received
    const arrivals = [1_000_000, undefined, 999_000, 1_004_000];
    const bytes = buildTwcc({ senderSsrc: 9, mediaSsrc: 8, baseSequence: 65534, feedbackCount: 200, arrivalsUs: arrivals });
    expect(bytes.length % 4).toBe(0);
    const f = parseTwcc(bytes);
    expect(f.packets.map((p) => p.sequence)).toEqual([65534, 65535, 0, 1]);
    expect(f.packets.map((p) => p.arrivalUs)).toEqual([1_000_000, undefined, 999_000, 1_004_000]);
    expect(f.feedbackCount).toBe(200);
  });

  test("one-bit vectors as libwebrtc writes them are read", () => {
    // Hand-built: base 10, 14 packets, chunk 1|0|10110000000001 → packets 0,2,3,13 received (small).
    const chunk = 0x8000 | 0b10110000000001;
    const body = [0x8f, 205, 0, 0, 0, 0, 0, 1, 0, 0, 0, 2, 0, 10, 0, 14, 0, 0, 1, 7, chunk >> 8, chunk & 0xff, 4, 4, 4, 4];
    while (body.length % 4) body.push(0);
    body[3] = body.length / 4 - 1;
    const f = parseTwcc(new Uint8Array(body));
    expect(f.packets.filter((p) => p.arrivalUs !== undefined).map((p) => p.sequence)).toEqual([10, 12, 13, 23]);
    expect(f.packets[13]!.arrivalUs).toBe(64_000 + 4 * 1000);
  });

  test("round trip: any arrivals survive build → parse within 250 µs, without drift", () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: 0xffff }),
        fc.array(fc.option(fc.integer({ min: 0, max: 3_000_000 }), { nil: undefined }), { minLength: 1, maxLength: 400 }),
        fc.integer({ min: 0, max: 1e9 }),
        (base, offsets, start) => {
          // Arrivals within ±3 s of each other (deltas stay inside the large-delta range).
          const arrivals = offsets.map((o) => (o === undefined ? undefined : start * 1000 + o));
          const f = parseTwcc(buildTwcc({ senderSsrc: 1, mediaSsrc: 2, baseSequence: base, feedbackCount: 0, arrivalsUs: arrivals }));
          expect(f.packets.length).toBe(arrivals.length);
          f.packets.forEach((p, i) => {
            expect(p.sequence).toBe((base + i) & 0xffff);
            if (arrivals[i] === undefined) expect(p.arrivalUs).toBeUndefined();
            else expect(Math.abs(p.arrivalUs! - (arrivals[i]! % (2 ** 24 * 64_000)))).toBeLessThanOrEqual(125);
          });
        },
      ),
      { numRuns: 300 },
    );
  });

  test("truncated or foreign packets are errors, not garbage", () => {
    expect(() => parseTwcc(LIBWEBRTC_FEEDBACK.subarray(0, 12))).toThrow(TwccParseError);
    const short = LIBWEBRTC_FEEDBACK.slice(0, 24);
    short[3] = 5;
    expect(() => parseTwcc(short)).toThrow(TwccParseError);
    const notTwcc = LIBWEBRTC_FEEDBACK.slice();
    notTwcc[0] = 0x81;
    expect(() => parseTwcc(notTwcc)).toThrow(TwccParseError);
  });

  test("the sequence unwrapper counts through 2^16 both ways", () => {
    const u = new SequenceUnwrapper();
    expect([65530, 65535, 0, 5, 3, 65534].map((s) => u.unwrap(s))).toEqual([65530, 65535, 65536, 65541, 65539, 65534]);
  });
});

describe("SendLog matches feedback to what was sent", () => {
  test("each packet once; lost then late-received is reported again; u16 wrap", () => {
    const log = new SendLog();
    for (let i = 0; i < 6; i++) log.record((65533 + i) & 0xffff, i * 10, 1000 + i);
    const first = log.onFeedback(parseTwcc(buildTwcc({ senderSsrc: 1, mediaSsrc: 2, baseSequence: 65533, feedbackCount: 0, arrivalsUs: [100_000, undefined, 120_000] })));
    expect(first.map((r) => [r.sequence, r.sendMs, r.size, r.arrivalMs !== undefined])).toEqual([
      [65533, 0, 1000, true],
      [65534, 10, 1001, false],
      [65535, 20, 1002, true],
    ]);
    const second = log.onFeedback(parseTwcc(buildTwcc({ senderSsrc: 1, mediaSsrc: 2, baseSequence: 65533, feedbackCount: 1, arrivalsUs: [100_000, 111_000, 120_000, 130_000, 140_000, 150_000] })));
    expect(second.map((r) => r.sequence)).toEqual([65534, 65536, 65537, 65538]);
    expect(second[0]!.arrivalMs! - first[0]!.arrivalMs!).toBeCloseTo(11, 0);
  });

  test("after an outage (forgetInFlight), what was sent into it is never reported lost; late arrivals still count", () => {
    const log = new SendLog();
    for (let i = 0; i < 4; i++) log.record(10 + i, i * 10, 1000);
    log.forgetInFlight();
    log.record(14, 100, 1000);
    const results = log.onFeedback(parseTwcc(buildTwcc({ senderSsrc: 1, mediaSsrc: 2, baseSequence: 10, feedbackCount: 0, arrivalsUs: [undefined, undefined, 50_000, undefined, 200_000] })));
    expect(results.map((r) => [r.sequence, r.arrivalMs !== undefined])).toEqual([
      [12, true],
      [14, true],
    ]);
    // A packet sent after it is judged as usual.
    log.record(15, 110, 1000);
    expect(log.onFeedback(parseTwcc(buildTwcc({ senderSsrc: 1, mediaSsrc: 2, baseSequence: 15, feedbackCount: 1, arrivalsUs: [undefined, 1] }))).map((r) => r.arrivalMs)).toEqual([undefined]);
  });

  test("a feedback for packets never logged yields nothing", () => {
    const log = new SendLog();
    log.record(100, 0, 1000);
    expect(log.onFeedback(parseTwcc(buildTwcc({ senderSsrc: 1, mediaSsrc: 2, baseSequence: 5000, feedbackCount: 0, arrivalsUs: [1, 2] })))).toEqual([]);
  });

  test("old entries are pruned, so the log stays bounded", () => {
    const log = new SendLog();
    for (let i = 0; i < 200_000; i++) log.record(i & 0xffff, i, 1200);
    expect(log.size).toBeLessThanOrEqual(10_001);
  });
});

describe("compound RTCP feedback", () => {
  test("RR blocks, NACK, PLI, FIR, REMB and TWCC from one compound packet", () => {
    const rr = [0x81, 201, 0, 7, 0, 0, 0, 7, 0xaa, 0xbb, 0xcc, 0xdd, 64, 0xff, 0xff, 0xff, 0, 0, 1, 0, 0, 0, 0, 9, 0x12, 0x34, 0x56, 0x78, 0, 1, 0, 0];
    const nack = [0x81, 205, 0, 3, 0, 0, 0, 7, 0xaa, 0xbb, 0xcc, 0xdd, 0, 100, 0b10000000, 0b00000101];
    const pli = [0x81, 206, 0, 2, 0, 0, 0, 7, 0xaa, 0xbb, 0xcc, 0xdd];
    const fir = [0x84, 206, 0, 4, 0, 0, 0, 7, 0, 0, 0, 0, 0xaa, 0xbb, 0xcc, 0xdd, 3, 0, 0, 0];
    const remb = [...buildRemb(7, 1_234_567, [0xaabbccdd])];
    const compound = new Uint8Array([...rr, ...nack, ...pli, ...fir, ...remb, ...LIBWEBRTC_FEEDBACK]);
    const items = parseRtcpFeedback(compound);
    expect(items.map((i) => i.type)).toEqual(["report", "nack", "pli", "fir", "remb", "twcc"]);
    const report = items[0] as Extract<(typeof items)[number], { type: "report" }>;
    expect(report.blocks[0]).toEqual({ ssrc: 0xaabbccdd, fractionLost: 0.25, cumulativeLost: -1, highestSequence: 256, jitter: 9, lastSr: 0x12345678, delaySinceLastSr: 65536 });
    expect((items[1] as { lost: number[] }).lost).toEqual([100, 101, 103, 116]);
    expect((items[3] as { ssrcs: number[] }).ssrcs).toEqual([0xaabbccdd]);
    const r = items[4] as { bitrate: number; ssrcs: number[] };
    expect(Math.abs(r.bitrate - 1_234_567) / 1_234_567).toBeLessThan(0.00002);
    expect(r.ssrcs).toEqual([0xaabbccdd]);
  });

  test("a malformed tail keeps what came before", () => {
    const pli = [0x81, 206, 0, 2, 0, 0, 0, 7, 0xaa, 0xbb, 0xcc, 0xdd];
    expect(parseRtcpFeedback(new Uint8Array([...pli, 0x81, 206, 0, 9, 1, 2]))).toEqual([{ type: "pli", mediaSsrc: 0xaabbccdd }]);
    expect(parseRtcpFeedback(new Uint8Array([0x00, 1, 2]))).toEqual([]);
  });
});
