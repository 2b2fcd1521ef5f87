/**
 * Adaptation runs, inside a loopback-only network namespace whose loopback is shaped with tbf
 * (shared/notes/network-faults.md: no netem here; tbf and iptables work). Each prints one JSON
 * result line; adapt.e2e.test.ts asserts on it and bench/run.ts reports it.
 *
 *   bottleneck  a fixed cap for the whole run; the publisher is whipcast or Chromium's own
 *   step        the cap moves (e.g. 4 → 1 → 4 Mbit/s); per-second figures
 *   loss        random loss of full-size packets, no cap
 *   pli         a werift receiver asks for keyframes; when each one's IDR arrived
 *
 *   bun test/e2e/adapt-scenario.ts '{"mode":"bottleneck","seconds":30,"rateKbit":1500}'
 */
import { binary } from "../helpers/binary.ts";
import { startBrowserWhipEndpoint } from "../helpers/browser-whip-endpoint.ts";
import { launchChromium } from "../helpers/chromium.ts";
import { startChromiumPublisher } from "../helpers/chromium-publisher.ts";
import { startWeriftWhipEndpoint } from "../helpers/werift-whip-endpoint.ts";

export type AdaptScenario =
  | { mode: "bottleneck"; publisher: "whipcast" | "chromium"; seconds: number; rateKbit: number; args?: string[] }
  | { mode: "step"; seconds: number; steps: [atMs: number, rateKbit: number][]; args?: string[] }
  | { mode: "loss"; seconds: number; loss: number; args?: string[] }
  | { mode: "pli"; requests: number; spacingMs: number; burst?: number; args?: string[] };

/** One second of the run, as the receiver (Chromium's getStats) and the publisher saw it. */
export interface Second {
  atMs: number;
  framesDecoded: number;
  freezeCount: number;
  concealedSamples: number;
  totalSamplesReceived: number;
  videoPacketsLost: number;
  videoPacketsReceived: number;
  frameWidth: number;
  /** Publisher side: bits per second sent (video + audio + repair), and its target. */
  sentBps?: number;
  targetBps?: number;
}

export interface AdaptResult {
  exitCode: number;
  seconds: Second[];
  adaptationLines: string[];
  /** Chromium publisher only: bytes and video frames it sent (its fake camera runs at its own rate). */
  publisherBytesSent?: number;
  publisherFramesSent?: number;
  /** pli mode: ms from each request to the first packet of the next IDR, and IDRs per burst. */
  keyframeLatencyMs?: number[];
  burstKeyframes?: number;
  stderrTail?: string[];
}

const scenario = JSON.parse(process.argv[2] ?? "{}") as AdaptScenario;

function sh(cmd: string[]): void {
  if (process.env.WHIPCAST_TEST_NETNS !== "1") throw new Error("traffic shaping is only done inside a private network namespace");
  const r = Bun.spawnSync(cmd);
  if (r.exitCode !== 0) throw new Error(`${cmd.join(" ")} failed: ${r.stderr.toString()}`);
}

/** tbf on lo (shared/notes/network-faults.md): MTU 1500 first, or tbf drops every large packet. */
function cap(rateKbit: number, change = false): void {
  if (!change) sh(["ip", "link", "set", "lo", "mtu", "1500"]);
  sh(["tc", "qdisc", change ? "change" : "add", "dev", "lo", "root", "tbf", "rate", `${rateKbit}kbit`, "burst", "64kbit", "latency", "300ms"]);
}

function publishWhipcast(url: string, seconds: number, args: string[] = []) {
  const proc = Bun.spawn([binary(), "publish", url, "--source", "test", "--duration", String(seconds), "--log", "json", "--stats-interval", "1", ...args], { stdout: "pipe", stderr: "pipe" });
  const lines: string[] = [];
  const done = (async () => {
    const reader = proc.stderr.getReader();
    const decoder = new TextDecoder();
    let buf = "";
    for (;;) {
      const { value, done } = await reader.read();
      if (done) break;
      buf += decoder.decode(value, { stream: true });
      let nl = buf.indexOf("\n");
      while (nl >= 0) {
        lines.push(buf.slice(0, nl));
        buf = buf.slice(nl + 1);
        nl = buf.indexOf("\n");
      }
    }
  })();
  /** The publisher's latest stats event. */
  const latest = () => {
    for (let i = lines.length - 1; i >= 0; i--) {
      const l = lines[i]!;
      if (!l.includes('"videoBps"')) continue;
      const j = JSON.parse(l) as { videoBps: number; audioBps: number; repairBps: number; targetBps?: number };
      return { sentBps: j.videoBps + j.audioBps + j.repairBps, ...(j.targetBps !== undefined ? { targetBps: j.targetBps } : {}) };
    }
    return undefined;
  };
  return { proc, lines, done, latest };
}

async function receiverRun(s: Exclude<AdaptScenario, { mode: "pli" }>): Promise<AdaptResult> {
  if (s.mode === "bottleneck") cap(s.rateKbit);
  if (s.mode === "step") cap(s.steps[0]![1]);
  const endpoint = await startBrowserWhipEndpoint();
  const seconds: Second[] = [];
  let publisherBytesSent: number | undefined;
  let publisherFramesSent: number | undefined;
  try {
    let latest: () => { sentBps: number; targetBps?: number } | undefined = () => undefined;
    let exit: Promise<number>;
    let lines: string[] = [];
    let stopChromium: (() => Promise<void>) | undefined;
    if (s.mode === "bottleneck" && s.publisher === "chromium") {
      const browser = await launchChromium(["--use-fake-device-for-media-stream"]);
      const publisher = await startChromiumPublisher(browser, endpoint.url);
      let last = { at: performance.now(), bytes: 0 };
      let sent: number | undefined;
      latest = () => (sent !== undefined ? { sentBps: sent } : undefined);
      const sampler = setInterval(async () => {
        const got = await publisher.sent().catch(() => ({ bytes: last.bytes, frames: publisherFramesSent ?? 0 }));
        const bytes = got.bytes;
        publisherFramesSent = got.frames;
        const now = performance.now();
        sent = ((bytes - last.bytes) * 8 * 1000) / (now - last.at);
        publisherBytesSent = bytes;
        last = { at: now, bytes };
      }, 1000);
      exit = Bun.sleep(s.seconds * 1000 + 1500).then(() => 0);
      stopChromium = async () => {
        clearInterval(sampler);
        await browser.close();
      };
    } else {
      const p = publishWhipcast(endpoint.url, s.seconds, s.args);
      latest = p.latest;
      exit = p.proc.exited;
      lines = p.lines;
    }
    if (s.mode === "loss") {
      // Full-size packets only (video RTP), both directions on lo.
      sh(["iptables", "-A", "INPUT", "-p", "udp", "-m", "length", "--length", "1000:1500", "-m", "statistic", "--mode", "random", "--probability", String(s.loss), "-j", "DROP"]);
    }
    // Wait for media, then sample each second.
    const start = performance.now();
    while (performance.now() - start < 15_000) {
      const st = endpoint.sessions.length > 0 ? await endpoint.stats().catch(() => undefined) : undefined;
      if ((st?.video?.framesDecoded ?? 0) > 0) break;
      await Bun.sleep(50);
    }
    const live = performance.now();
    let step = 1;
    let exited = false;
    void exit.then(() => (exited = true));
    for (let t = 1; !exited && t <= s.seconds + 1; t++) {
      const wake = live + t * 1000;
      await Bun.sleep(Math.max(0, wake - performance.now()));
      if (s.mode === "step") {
        while (step < s.steps.length && performance.now() - live >= s.steps[step]![0]) cap(s.steps[step++]![1], true);
      }
      const st = await endpoint.stats().catch(() => undefined);
      if (!st?.video) continue;
      const pub = latest();
      seconds.push({
        atMs: Math.round(performance.now() - live),
        framesDecoded: st.video.framesDecoded,
        freezeCount: st.video.freezeCount,
        concealedSamples: st.audio?.concealedSamples ?? 0,
        totalSamplesReceived: st.audio?.totalSamplesReceived ?? 0,
        videoPacketsLost: st.video.packetsLost,
        videoPacketsReceived: st.video.packetsReceived,
        frameWidth: st.video.frameWidth,
        ...(pub ? pub : {}),
      });
    }
    await stopChromium?.();
    const exitCode = await exit;
    const adaptationLines = lines.map((l) => (JSON.parse(l) as { msg: string }).msg).filter((m) => / → /.test(m));
    return { exitCode, seconds, adaptationLines, ...(publisherBytesSent !== undefined ? { publisherBytesSent, publisherFramesSent } : {}), stderrTail: lines.slice(-3) };
  } finally {
    await endpoint.close();
  }
}

async function pliRun(s: Extract<AdaptScenario, { mode: "pli" }>): Promise<AdaptResult> {
  const endpoint = await startWeriftWhipEndpoint();
  const seconds = Math.ceil(((s.requests + 3) * s.spacingMs) / 1000) + 4;
  const p = publishWhipcast(endpoint.url, seconds, ["--size", "640x360", "--keyframe-interval", "30", ...(s.args ?? [])]);
  try {
    const start = performance.now();
    while (!endpoint.connected() && performance.now() - start < 15_000) await Bun.sleep(20);
    await Bun.sleep(1_500); // past the start keyframe
    const latencies: number[] = [];
    for (let i = 0; i < s.requests; i++) {
      const before = endpoint.keyframes.length;
      const at = i % 2 === 0 ? await endpoint.pli() : await endpoint.fir();
      const deadline = at + 2_000;
      while (endpoint.keyframes.length === before && performance.now() < deadline) await Bun.sleep(2);
      const idr = endpoint.keyframes.find((k) => k.atMs >= at);
      latencies.push(idr ? Math.round((idr.atMs - at) * 10) / 10 : -1);
      await Bun.sleep(Math.max(0, at + s.spacingMs - performance.now()));
    }
    // A storm: many PLIs within 100 ms must yield one IDR (at most one per 500 ms).
    let burstKeyframes: number | undefined;
    if (s.burst) {
      const before = endpoint.keyframes.length;
      for (let i = 0; i < s.burst; i++) {
        await endpoint.pli();
        await Bun.sleep(100 / s.burst);
      }
      await Bun.sleep(450);
      burstKeyframes = endpoint.keyframes.length - before;
    }
    p.proc.kill("SIGTERM");
    const exitCode = await p.proc.exited;
    await p.done;
    return { exitCode, seconds: [], adaptationLines: [], keyframeLatencyMs: latencies, ...(burstKeyframes !== undefined ? { burstKeyframes } : {}), stderrTail: p.lines.slice(-3) };
  } finally {
    p.proc.kill("SIGKILL");
    await endpoint.close();
  }
}

const result = scenario.mode === "pli" ? await pliRun(scenario) : await receiverRun(scenario);
process.stdout.write(`${JSON.stringify(result)}\n`);
process.exit(0);
