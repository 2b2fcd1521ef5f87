import { describe, expect, test } from "bun:test";
import { runInNamespace } from "./run-scenario.ts";

interface SeamResult {
  connected: boolean;
  pair: { local: string; remote: string; protocol: string; rttMs: number | null } | null;
  socketClosed: boolean[];
  received: { video: number; audio: number; extensionIds: number[]; senderReports: number };
  sent: { video: number; repair: number; audio: number };
  feedbacks: number;
  logged: number;
  ackedBps: number | null;
  rttMs: number | null;
  keyframeRequests: string[];
  captureTimes: { video: { elements: number; frames: number; mismatched: unknown[] }; audio: { elements: number; mismatched: unknown[] } };
}

describe("src/rtc against real werift peers (ICE, DTLS, SRTP on loopback)", () => {
  let run: Promise<SeamResult> | undefined;
  const seam = () => (run ??= runInNamespace<SeamResult>("rtc-seam-scenario.ts", {}));
  test("stamped TWCC sequence numbers reach the receiver under one extension id; its TWCC feedback and PLI come back through the SRTCP tap", async () => {
    const r = await seam();
    expect(r.connected).toBe(true);
    // Every packet sent was received (loopback, no loss) and carried the one transport-cc id.
    // The receiver's video track also gets the RTX padding of the start-up probe, unwrapped.
    expect(r.sent.repair).toBeGreaterThan(0);
    expect(r.received.video).toBe(r.sent.video + r.sent.repair);
    expect(r.received.audio).toBe(r.sent.audio);
    // transport-cc, abs-capture-time, playout-delay: one id each across both bundled sections.
    expect(r.received.extensionIds).toHaveLength(3);
    expect(r.received.senderReports).toBeGreaterThan(0);
    // The responder's feedback matched the send log: the estimator saw what arrived.
    expect(r.feedbacks).toBeGreaterThan(10);
    expect(r.logged).toBeGreaterThan(0);
    expect(r.ackedBps).toBeGreaterThan(100_000);
    expect(r.keyframeRequests).toContain("PLI");
    // The selected pair as check reports it, and a closed socket under it noticed (path-activity.ts).
    expect(r.pair).toMatchObject({ local: "127.0.0.1", remote: "127.0.0.1", protocol: "udp" });
    expect(r.pair!.rttMs).toBeGreaterThanOrEqual(0);
    expect(r.socketClosed).toEqual([false, true]);
  });

  test("abs-capture-time reaches the receiving peer under its negotiated id and decodes to each frame's capture time, to the nanosecond", async () => {
    const r = await seam();
    expect(r.connected).toBe(true);
    // Every one of the 90 frames carried one; audio once a second over the 3 s.
    expect(r.captureTimes.video).toEqual({ elements: 90, frames: 90, mismatched: [] });
    expect(r.captureTimes.audio).toEqual({ elements: 3, mismatched: [] });
  });
});
