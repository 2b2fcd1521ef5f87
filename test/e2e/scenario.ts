/**
 * One end-to-end run, meant to execute inside a loopback-only network namespace:
 * start the Chromium-backed WHIP endpoint, run the compiled whipcast against it, read the
 * receiver's getStats(), print one JSON result line. publish.e2e.test.ts asserts on it.
 *
 *   bun test/e2e/scenario.ts '{"args":[...], "sigtermAfterMs": 4000}'
 */
import { binary } from "../helpers/binary.ts";
import { type InboundStats, startBrowserWhipEndpoint } from "../helpers/browser-whip-endpoint.ts";
import { startStunServer } from "../helpers/stun-server.ts";

interface Scenario {
  args: string[];
  token?: string;
  /** Send SIGTERM this long after the receiver connected. */
  sigtermAfterMs?: number;
  /** Once connected, drop this share of full-size UDP packets (video RTP) with iptables. */
  lossAfterConnect?: number;
  /** The endpoint offers a loopback STUN server in a Link header and breaks its first answer. */
  endpointStunOnly?: boolean;
}

export interface ScenarioResult {
  exitCode: number;
  stderr: string[];
  stats: InboundStats | undefined;
  /** Stats sampled while live, before the publisher stopped. */
  liveStats: InboundStats | undefined;
  sessions: number;
  deleted: boolean;
  authorization: (string | null)[];
  sent: { videoFrames: number; audioPackets: number; retransmitted: number; latencyP50Ms?: number; latencyP99Ms?: number } | undefined;
  /** Sessions the endpoint deleted, by id (s1, s2, ...). */
  deletedSessions: string[];
  /** Binding requests the Link-advertised STUN server answered. */
  stunRequests: number;
  /** When the receiver's freeze count went up, in ms after it connected (sampled every 100 ms). */
  freezesAtMs: number[];
  error?: string;
}

const scenario = JSON.parse(process.argv[2] ?? "{}") as Scenario;

/** Random loss on loopback; only ever inside the scenario's own network namespace. */
function dropUdp(share: number): void {
  if (process.env.WHIPCAST_TEST_NETNS !== "1") throw new Error("packet loss is only injected inside a private network namespace");
  const rule = ["iptables", "-A", "INPUT", "-p", "udp", "-m", "length", "--length", "1000:1500", "-m", "statistic", "--mode", "random", "--probability", String(share), "-j", "DROP"];
  const r = Bun.spawnSync(rule);
  if (r.exitCode !== 0) throw new Error(`iptables failed: ${r.stderr.toString()}`);
}
/**
 * The receiver's stats once it has drained: a frame that arrived just before the publisher
 * stopped is counted as received before it is decoded, so counters read at one instant can
 * differ by the frames still in Chromium's jitter buffer and decoder. Read until two reads
 * 300 ms apart agree, at most 1.5 s: Chromium asks for a keyframe once no video has come for
 * 3 s, which would count as a PLI.
 */
async function settledStats(): Promise<InboundStats> {
  let last = await endpoint.stats();
  for (let i = 0; i < 5; i++) {
    await Bun.sleep(300);
    const next = await endpoint.stats();
    // Video only: Chromium's audio keeps counting concealed samples after the stream stops.
    const same = next.video?.framesDecoded === last.video?.framesDecoded && next.video?.framesReceived === last.video?.framesReceived;
    last = next;
    if (same) break;
  }
  return last;
}

const stun = scenario.endpointStunOnly ? await startStunServer() : undefined;
const endpoint = await startBrowserWhipEndpoint({
  ...(scenario.token ? { token: scenario.token } : {}),
  ...(stun ? { links: [`<${stun.url}>; rel="ice-server"`, `<https://example.invalid/>; rel="help"`], breakFirstAnswer: true } : {}),
});
try {
  const proc = Bun.spawn([binary(), "publish", endpoint.url, ...scenario.args, "--log", "json"], { stdout: "pipe", stderr: "pipe", env: { ...process.env } });
  const stderrText = new Response(proc.stderr).text();
  let liveStats: InboundStats | undefined;
  const freezesAtMs: number[] = [];
  let exited = false;
  void proc.exited.then(() => (exited = true));
  // Sample while live: wait for the session, then poll until the publisher exits.
  const sampler = (async () => {
    while (!exited && endpoint.sessions.length === 0) await Bun.sleep(50);
    let connectedAt: number | undefined;
    while (!exited) {
      if (endpoint.sessions.length > 0) {
        const s = await endpoint.stats().catch(() => undefined);
        if (s && !endpoint.deleted.size) {
          const before = liveStats?.video?.freezeCount ?? 0;
          for (let n = before; n < (s.video?.freezeCount ?? 0); n++) freezesAtMs.push(connectedAt === undefined ? 0 : Date.now() - connectedAt);
          liveStats = s;
        }
        if (s?.connectionState === "connected" && connectedAt === undefined) {
          connectedAt = Date.now();
          if (scenario.lossAfterConnect) dropUdp(scenario.lossAfterConnect);
        }
        if (scenario.sigtermAfterMs !== undefined && connectedAt !== undefined && Date.now() - connectedAt >= scenario.sigtermAfterMs) {
          proc.kill("SIGTERM");
          scenario.sigtermAfterMs = undefined;
        }
      }
      await Bun.sleep(100);
    }
  })();
  const exitCode = await proc.exited;
  await sampler;
  const stderr = (await stderrText).split("\n").filter((l) => l.trim() !== "");
  const summary = stderr.map((l) => JSON.parse(l) as Record<string, unknown>).find((l) => typeof l.videoFrames === "number");
  const result: ScenarioResult = {
    exitCode,
    stderr,
    stats: endpoint.sessions.length > 0 ? await settledStats() : undefined,
    liveStats,
    sessions: endpoint.sessions.length,
    deleted: endpoint.sessions.length > 0 && endpoint.deleted.has(endpoint.sessions[0]!),
    authorization: endpoint.requests.filter((r) => r.path.startsWith("/whip")).map((r) => r.authorization),
    deletedSessions: [...endpoint.deleted].sort(),
    stunRequests: stun?.bindingRequests ?? 0,
    freezesAtMs,
    sent: summary
      ? { videoFrames: summary.videoFrames as number, audioPackets: summary.audioPackets as number, retransmitted: summary.retransmitted as number, latencyP50Ms: summary.latencyP50Ms as number | undefined, latencyP99Ms: summary.latencyP99Ms as number | undefined }
      : undefined,
  };
  process.stdout.write(`${JSON.stringify(result)}\n`);
} finally {
  await endpoint.close();
  stun?.close();
}
process.exit(0);
