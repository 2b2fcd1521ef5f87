import { describe, expect, test } from "bun:test";
import { runInNamespace } from "./run-scenario.ts";

interface SeamResult {
  connected: boolean;
  received: { video: number; audio: number; extensionIds: number[]; senderReports: number };
  sent: { video: number; repair: number; audio: number };
  feedbacks: number;
  logged: number;
  ackedBps: number | null;
  rttMs: number | null;
  keyframeRequests: string[];
}

describe("src/rtc against real werift peers (ICE, DTLS, SRTP on loopback)", () => {
  test("stamped TWCC sequence numbers reach the receiver under one extension id; its TWCC feedback and PLI come back through the SRTCP tap", async () => {
    const r = await runInNamespace<SeamResult>("rtc-seam-scenario.ts", {});
    expect(r.connected).toBe(true);
    // Every packet sent was received (loopback, no loss) and carried the one transport-cc id.
    // The receiver's video track also gets the RTX padding of the start-up probe, unwrapped.
    expect(r.sent.repair).toBeGreaterThan(0);
    expect(r.received.video).toBe(r.sent.video + r.sent.repair);
    expect(r.received.audio).toBe(r.sent.audio);
    expect(r.received.extensionIds).toHaveLength(1);
    expect(r.received.senderReports).toBeGreaterThan(0);
    // The responder's feedback matched the send log: the estimator saw what arrived.
    expect(r.feedbacks).toBeGreaterThan(10);
    expect(r.logged).toBeGreaterThan(0);
    expect(r.ackedBps).toBeGreaterThan(100_000);
    expect(r.keyframeRequests).toContain("PLI");
  });
});
