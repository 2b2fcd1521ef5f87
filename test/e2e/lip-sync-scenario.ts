/**
 * Lip sync end to end, inside a loopback-only namespace: the compiled whipcast publishes the
 * flash/burst file to the Chromium-backed WHIP endpoint while the page probes what it shows and
 * plays (test/helpers/lip-sync.ts). Prints one JSON result line; bench/lipsync.ts prints the same
 * run as figures.
 *
 *   bun test/e2e/lip-sync-scenario.ts '{"seconds": 30}'
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { binary } from "../helpers/binary.ts";
import { startBrowserWhipEndpoint } from "../helpers/browser-whip-endpoint.ts";
import { makeSyncFile, readSyncProbe, startSyncProbe, type SyncProbeResult } from "../helpers/lip-sync.ts";
import type { CounterStart } from "../../src/protocol.ts";

export interface LipSyncResult {
  exitCode: number;
  probeStarted: boolean;
  probe: SyncProbeResult;
  errors: string[];
  /** With counterStart: Sender Reports Chromium had received per kind, at 12 s (after every wrap) and at the end. */
  reports?: { at12s: Record<string, number>; atEnd: Record<string, number> };
}

/** Sender Reports received so far, per kind (RTCRemoteOutboundRtpStreamStats.reportsSent). */
const REPORTS = `(async () => { const out = {}; (await window.sessions.s1.getStats()).forEach((s) => { if (s.type === "remote-outbound-rtp") out[s.kind] = s.reportsSent; }); return out; })()`;

/**
 * Publish the flash/burst file to Chromium and probe it. With `counterStart` the publisher runs
 * from source with its wrapping counters started there (test/helpers/publish-from-source.ts).
 */
export async function runLipSync(seconds: number, counterStart?: CounterStart): Promise<LipSyncResult> {
  const dir = mkdtempSync(join(tmpdir(), "whipcast-lipsync-"));
  const endpoint = await startBrowserWhipEndpoint();
  try {
    const file = makeSyncFile(dir, seconds + 1);
    const command = counterStart
      ? [process.execPath, join(import.meta.dir, "..", "helpers", "publish-from-source.ts"), JSON.stringify({ url: endpoint.url, source: file, duration: seconds, counterStart })]
      : [binary(), "publish", endpoint.url, "--source", file, "--duration", String(seconds), "--log", "json"];
    const proc = Bun.spawn(command, { stdout: "pipe", stderr: "pipe" });
    const stderr = new Response(proc.stderr).text();
    const probeStarted = await startSyncProbe(endpoint.page, "window.sessions.s1");
    let reports: LipSyncResult["reports"];
    if (counterStart) {
      await Bun.sleep(12_000);
      const at12s = (await endpoint.page.evaluate(REPORTS)) as Record<string, number>;
      await Bun.sleep((seconds - 14) * 1000);
      reports = { at12s, atEnd: (await endpoint.page.evaluate(REPORTS)) as Record<string, number> };
    }
    const exitCode = await proc.exited;
    const probe = await readSyncProbe(endpoint.page);
    return { exitCode, probeStarted, probe, errors: (await stderr).split("\n").filter((l) => l.includes('"error"')), ...(reports ? { reports } : {}) };
  } finally {
    await endpoint.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

if (import.meta.main) {
  const { seconds, counterStart } = JSON.parse(process.argv[2] ?? "{}") as { seconds?: number; counterStart?: CounterStart };
  process.stdout.write(`${JSON.stringify(await runLipSync(seconds ?? 30, counterStart))}\n`);
  process.exit(0);
}
