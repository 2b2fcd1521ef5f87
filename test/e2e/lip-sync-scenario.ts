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

export interface LipSyncResult {
  exitCode: number;
  probeStarted: boolean;
  probe: SyncProbeResult;
  errors: string[];
}

export async function runLipSync(seconds: number): Promise<LipSyncResult> {
  const dir = mkdtempSync(join(tmpdir(), "whipcast-lipsync-"));
  const endpoint = await startBrowserWhipEndpoint();
  try {
    const file = makeSyncFile(dir, seconds + 1);
    const proc = Bun.spawn([binary(), "publish", endpoint.url, "--source", file, "--duration", String(seconds), "--log", "json"], { stdout: "pipe", stderr: "pipe" });
    const stderr = new Response(proc.stderr).text();
    const probeStarted = await startSyncProbe(endpoint.page, "window.sessions.s1");
    const exitCode = await proc.exited;
    const probe = await readSyncProbe(endpoint.page);
    return { exitCode, probeStarted, probe, errors: (await stderr).split("\n").filter((l) => l.includes('"error"')) };
  } finally {
    await endpoint.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

if (import.meta.main) {
  const { seconds } = JSON.parse(process.argv[2] ?? "{}") as { seconds?: number };
  process.stdout.write(`${JSON.stringify(await runLipSync(seconds ?? 30))}\n`);
  process.exit(0);
}
