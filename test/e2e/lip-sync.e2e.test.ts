import { describe, expect, test } from "bun:test";
import { LIP_SYNC_SECONDS, LIP_SYNC_SETTLED_MS, median } from "../helpers/lip-sync.ts";
import { runInNamespace } from "./run-scenario.ts";
import type { LipSyncResult } from "./lip-sync-scenario.ts";

/** What every lip-sync run must show once Chromium has settled. */
function expectInSync(r: LipSyncResult): void {
  expect(r.errors).toEqual([]);
  expect(r.exitCode).toBe(0);
  expect(r.probeStarted).toBe(true);
  const settled = r.probe.samples.filter((s) => s.at >= LIP_SYNC_SETTLED_MS).map((s) => s.offsetMs);
  // One flash a second: nearly every settled second yields a paired flash and burst.
  expect(settled.length).toBeGreaterThanOrEqual(8);
  // ITU-R BT.1359 detectability window: audio at most 45 ms early, at most 125 ms late. The
  // probe's audio path (WebAudio on the track) adds its own delay, so it errs towards "late":
  // correct streams read about +40 to +60 ms here. Sender Reports that misplace audio by 100 ms
  // move the median by about as much (+100 ms gave about -50; -100 ms about +120).
  const offset = median(settled)!;
  expect(offset).toBeGreaterThanOrEqual(-45);
  expect(offset).toBeLessThanOrEqual(125);
  // Chromium maps both streams to the sender's clock through the Sender Reports, and its
  // synchroniser has brought the two playout times together.
  const estimates = r.probe.estimates.filter((e) => e.at >= LIP_SYNC_SETTLED_MS).map((e) => e.ms);
  expect(estimates.length).toBeGreaterThanOrEqual(5);
  expect(Math.abs(median(estimates)!)).toBeLessThanOrEqual(40);
}

describe("lip sync: whipcast publish → headless Chromium, loopback-only namespace", () => {
  test("30 s of a flash + tone-burst file: Chromium plays each burst with its flash", async () => {
    expectInSync(await runInNamespace<LipSyncResult>("lip-sync-scenario.ts", { seconds: LIP_SYNC_SECONDS }));
  }, 120_000);

  test("the same with every wrapping counter started just below its wrap: Sender Reports keep coming after the wraps, and lip sync holds", async () => {
    // SR packet and octet counts (u32) and the RTP and transport-wide sequence numbers (u16)
    // all wrap within the first ~8 s at these rates, as they would after hours.
    const counterStart = { packets: 2 ** 32 - 400, octets: 2 ** 32 - 60_000, transportSequence: 65_536 - 300, rtpSequence: 65_536 - 300 };
    const r = await runInNamespace<LipSyncResult>("lip-sync-scenario.ts", { seconds: LIP_SYNC_SECONDS, counterStart });
    expectInSync(r);
    // Reports every 0.5–1.5 s: the last 16 s must bring several more of each kind.
    expect(r.reports).toBeDefined();
    const { at12s, atEnd } = r.reports!;
    const more = { audio: (atEnd.audio ?? 0) - (at12s.audio ?? 0), video: (atEnd.video ?? 0) - (at12s.video ?? 0) };
    expect({ more, ok: more.audio >= 8 && more.video >= 8 }).toEqual({ more, ok: true });
  }, 120_000);
});
