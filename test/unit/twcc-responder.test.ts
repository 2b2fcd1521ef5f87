import { afterEach, describe, expect, test } from "bun:test";
import { RTCPeerConnection } from "werift";
import { RecentSequences } from "../../src/server/recent-sequences.ts";
import { TwccResponder } from "../../src/rtc/twcc-responder.ts";
import { parseTwcc } from "../../src/rtp/twcc.ts";

const peers: RTCPeerConnection[] = [];
afterEach(async () => {
  for (const p of peers.splice(0)) await p.close();
});

describe("TwccResponder: the receiving side's TWCC feedback", () => {
  test("every arrival once, in order, across the u16 wrap; gaps reported lost; long runs split", () => {
    const pc = new RTCPeerConnection({ iceServers: [] });
    peers.push(pc);
    const r = new TwccResponder(pc, 7);
    for (const [seq, at] of [[65534, 1_000_000], [65535, 1_002_000], [1, 1_005_000]] as const) r.record(seq, at);
    const [fb] = r.build().map(parseTwcc);
    expect(fb!.senderSsrc).toBe(7);
    expect(fb!.packets.map((p) => [p.sequence, p.arrivalUs !== undefined])).toEqual([
      [65534, true],
      [65535, true],
      [0, false],
      [1, true],
    ]);
    expect(fb!.packets[3]!.arrivalUs! - fb!.packets[0]!.arrivalUs!).toBe(5_000);
    // Already reported: a late arrival of 0 is not reported again; new ones follow on.
    r.record(0, 1_006_000);
    r.record(2, 1_007_000);
    const [next] = r.build().map(parseTwcc);
    expect(next!.baseSequence).toBe(2);
    expect(next!.feedbackCount).toBe(1);
    for (let i = 3; i < 1_003; i++) r.record(i, 1_008_000 + i * 100);
    expect(r.build().map(parseTwcc).map((f) => f.packets.length)).toEqual([400, 400, 200]);
  });

  test("werift's own receiver-side TWCC is switched off on the peer's receivers", async () => {
    const pc = new RTCPeerConnection({ iceServers: [] });
    peers.push(pc);
    new TwccResponder(pc, 1);
    const t = pc.addTransceiver("video", { direction: "recvonly" });
    const receiver = t.receiver as unknown as { setupTWCC(ssrc: number): void; receiverTWCC: unknown };
    receiver.setupTWCC(1234);
    expect(receiver.receiverTWCC).toBeUndefined();
  });
});

describe("RecentSequences", () => {
  test("remembers the exact sequence numbers of its window", () => {
    const r = new RecentSequences(4);
    r.add(10);
    expect([r.has(10), r.has(14), r.has(11)]).toEqual([true, false, false]);
    r.add(14); // same slot
    expect([r.has(10), r.has(14)]).toEqual([false, true]);
    expect(() => new RecentSequences(3)).toThrow(RangeError);
  });
});
