#!/usr/bin/env bun
/**
 * `bun run bench`: whipcast's costs, each printed next to a comparison measured in the same run.
 * Figures only; nothing here passes or fails. Needs ffmpeg and Chromium (as the tests do) and a
 * built dist/whipcast (`bun run build`).
 */
import { readFileSync, readdirSync } from "node:fs";
import { Logger } from "../src/cli/log.ts";
import { resolvePublishOptions, type PublishFlags } from "../src/cli/options.ts";
import { startPublish } from "../src/cli/publish.ts";
import { OpusStreamEncoder, DEFAULT_OPUS_SETTINGS } from "../src/codec/opus-encoder.ts";
import { encoderArgs } from "../src/media/ffmpeg-args.ts";
import { nowNs } from "../src/rtp/ntp.ts";
import { runLipSync } from "../test/e2e/lip-sync-scenario.ts";
import { binary } from "../test/helpers/binary.ts";
import { startBrowserWhipEndpoint } from "../test/helpers/browser-whip-endpoint.ts";
import { launchChromium } from "../test/helpers/chromium.ts";
import { LIP_SYNC_SECONDS, LIP_SYNC_SETTLED_MS, median } from "../test/helpers/lip-sync.ts";
import { canUseNetns, inLoopbackNamespace } from "../test/helpers/netns.ts";
import { openWhepViewer, type WhepViewer } from "../test/helpers/whep-viewer.ts";
import type { AdaptResult, AdaptScenario, Second } from "../test/e2e/adapt-scenario.ts";
import { runInNamespace } from "../test/e2e/run-scenario.ts";
import { latencyBench } from "./latency.ts";
import { childPids, cpuSeconds, processTree } from "./proc.ts";
import { recoveryBench, soakBench } from "./reconnect.ts";

// Like the tests, run inside a loopback-only network namespace where one can be made: every
// packet stays on 127.0.0.1 and no ICE agent looks for other interfaces or STUN servers.
if (canUseNetns() && process.env.WHIPCAST_TEST_NETNS !== "1") {
  const proc = Bun.spawn(inLoopbackNamespace([process.execPath, ...process.argv.slice(1)]), { stdio: ["inherit", "inherit", "inherit"] });
  process.exit(await proc.exited);
}

const SECONDS = Number(process.env.BENCH_SECONDS ?? 10);
const rows: [string, string, string][] = [];
const row = (name: string, value: string, comparison: string) => {
  rows.push([name, value, comparison]);
  console.error(`  ${name}: ${value}  (${comparison})`);
};

function percentile(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? Number.NaN;
}

const flags = (url: string, extra: Partial<PublishFlags> = {}): PublishFlags => ({
  url, source: "test", size: "1280x720", fps: "30", "video-bitrate": "2500k", "min-video-bitrate": "150k", adapt: true, "stats-interval": "0", "keyframe-interval": "2", encoder: "x264",
  "audio-bitrate": "128k", audio: true, video: true, loop: false, "connect-timeout": "10", reconnect: true, log: "text", quiet: true, verbose: false, ...extra,
});

interface ThreadCpu {
  name: string;
  seconds: number;
}

/** CPU seconds of each thread of `pid`, from schedstat (nanoseconds, unlike stat's 10 ms ticks). */
function threadCpu(pid: number): Map<number, ThreadCpu> {
  const out = new Map<number, ThreadCpu>();
  for (const task of readdirSync(`/proc/${pid}/task`)) {
    try {
      const name = readFileSync(`/proc/${pid}/task/${task}/comm`, "utf8").trim();
      out.set(Number(task), { name, seconds: Number(readFileSync(`/proc/${pid}/task/${task}/schedstat`, "utf8").split(" ")[0]) / 1e9 });
    } catch {
      // the thread ended between listing and reading
    }
  }
  return out;
}

/** Share of one core per thread group over a window: whipcast's session and Opus Workers, its main thread, the runtime's own threads. */
async function cpuWindow(pid: number, seconds: number): Promise<{ total: number; groups: Record<string, number> }> {
  const a = threadCpu(pid);
  const t0 = performance.now();
  await Bun.sleep(seconds * 1000);
  const b = threadCpu(pid);
  const wall = (performance.now() - t0) / 1000;
  // Workers are named "Worker" by the runtime; publish starts the session Worker before the Opus one.
  const workers = [...b.entries()].filter(([, t]) => t.name === "Worker").map(([tid]) => tid).sort((x, y) => x - y);
  const groups: Record<string, number> = { "session Worker": 0, "Opus Worker": 0, main: 0, "JIT, GC, allocator": 0 };
  let total = 0;
  for (const [tid, t] of b) {
    const share = (100 * (t.seconds - (a.get(tid)?.seconds ?? 0))) / wall;
    total += share;
    const group = tid === pid ? "main" : tid === workers[0] ? "session Worker" : tid === workers[1] ? "Opus Worker" : "JIT, GC, allocator";
    groups[group] = (groups[group] ?? 0) + share;
  }
  return { total, groups };
}

const WARM_SECONDS = Number(process.env.BENCH_WARM_SECONDS ?? 20);
/** The steady-state CPU window: long enough to average out this kind of machine's noisy phases. */
const STEADY_SECONDS = Number(process.env.BENCH_STEADY_SECONDS ?? 20);

// 1 & 2. CPU share of the compiled binary and of its ffmpeg, per second of 720p30 2.5 Mbit/s +
// Opus 128 kbit/s; and, from the same run, the binary's own per-frame hand-off latency.
async function cpuShareAndLatency(): Promise<void> {
  const ep = await startBrowserWhipEndpoint();
  try {
    const proc = Bun.spawn([binary(), "publish", ep.url, "--source", "test", "--size", "1280x720", "--fps", "30", "--video-bitrate", "2500k", "--audio-bitrate", "128k", "--encoder", "x264", "--duration", String(WARM_SECONDS + STEADY_SECONDS + 5), "--log", "json"], { stderr: "pipe" });
    const log = new Response(proc.stderr).text();
    while (ep.sessions.length === 0 || (await ep.stats()).connectionState !== "connected") await Bun.sleep(100);
    // The capture process and the encoder processes (the active one and its idle standby).
    const ffmpegs = () => childPids(proc.pid);
    // The first seconds: JavaScriptCore is still compiling the hot paths into faster tiers.
    const early = await cpuWindow(proc.pid, Math.min(SECONDS, WARM_SECONDS));
    await Bun.sleep(Math.max(0, WARM_SECONDS - SECONDS) * 1000);
    // Steady state, what a stream costs for the rest of its minutes or hours. Meanwhile, in this
    // process, a bare main → Worker message every frame interval: one hop's cost on this machine.
    const hop = new Worker(new URL("./hop-probe.worker.ts", import.meta.url).href);
    const ticker = setInterval(() => hop.postMessage(nowNs()), 1000 / 30);
    const f0 = new Map(ffmpegs().map((pid) => [pid, cpuSeconds(pid)]));
    const t0 = performance.now();
    const steady = await cpuWindow(proc.pid, STEADY_SECONDS);
    let ffmpegCpu = 0;
    for (const pid of ffmpegs()) ffmpegCpu += cpuSeconds(pid) - (f0.get(pid) ?? 0);
    const ffmpegShare = (100 * ffmpegCpu) / ((performance.now() - t0) / 1000);
    clearInterval(ticker);
    const hops = await new Promise<number[]>((resolve) => {
      hop.onmessage = (e: MessageEvent<number[]>) => resolve(e.data.sort((a, b) => a - b));
      hop.postMessage("report");
    });
    hop.terminate();
    await proc.exited;
    const summary = (await log).split("\n").filter((l) => l.includes('"latencyP99Ms"')).map((l) => JSON.parse(l) as { videoFrames: number; latencyP50Ms: number; latencyP99Ms: number })[0];
    const stats = await ep.stats();
    const parts = Object.entries(steady.groups).map(([k, v]) => `${k} ${v.toFixed(1)}`).join(", ");
    row(
      `CPU, whipcast process (not ffmpeg), steady state (${STEADY_SECONDS} s)`,
      `${steady.total.toFixed(1)} % of one core (${parts})`,
      `first ${Math.min(SECONDS, WARM_SECONDS)} s after connecting: ${early.total.toFixed(1)} %; ffmpeg capture + encoder processes: ${ffmpegShare.toFixed(1)} %; target ≤ 5 %; receiver decoded ${stats.video?.framesDecoded} frames`,
    );
    const frameMs = 1000 / 30;
    row(
      "frame latency, last byte from the encoder → last RTP packet sent (pacing included)",
      summary ? `p50 ${summary.latencyP50Ms.toFixed(2)} ms, p99 ${summary.latencyP99Ms.toFixed(2)} ms (${summary.videoFrames} frames, the binary's own figures)` : "n/a (no summary line)",
      `one bare main → Worker message on this machine, same window: p50 ${percentile(hops, 50).toFixed(2)} ms, p99 ${percentile(hops, 99).toFixed(2)} ms; framing by the next start code instead would add one frame interval: p50 ${summary ? (summary.latencyP50Ms + frameMs).toFixed(1) : "n/a"} ms; target p99 ≤ 2 ms`,
    );
  } finally {
    await ep.close();
  }
}

// 3. Startup, in-process with hooks on the same pipeline, then the compiled binary.
async function startup(): Promise<void> {
  const ep = await startBrowserWhipEndpoint();
  try {
    const marks: { connected?: bigint; firstMedia?: bigint } = {};
    const launch = nowNs();
    const opts = resolvePublishOptions(flags(ep.url, { duration: String(SECONDS) }), [], {});
    const run = startPublish(opts, new Logger("text", "quiet"), {
      onConnected: (t) => (marks.connected = t),
      onFirstMedia: (t) => (marks.firstMedia = t),
    });
    const error = await run.done;
    if (error) throw error;
    const toMs = (t?: bigint) => (t === undefined ? "n/a" : `${(Number(t - launch) / 1e6).toFixed(0)} ms`);
    row("startup, launch → DTLS connected", toMs(marks.connected), `launch → first encoded frame from ffmpeg: ${toMs(marks.firstMedia)}`);
  } finally {
    await ep.close();
  }
  // The compiled binary, from exec to its "live" line.
  const ep2 = await startBrowserWhipEndpoint();
  try {
    const t0 = performance.now();
    const proc = Bun.spawn([binary(), "publish", ep2.url, "--source", "test", "--duration", "2", "--log", "json", "--encoder", "x264"], { stderr: "pipe" });
    const reader = proc.stderr.getReader();
    let text = "";
    let live = Number.NaN;
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      text += new TextDecoder().decode(value);
      if (Number.isNaN(live) && text.includes('"msg":"live:')) live = performance.now() - t0;
    }
    await proc.exited;
    const auto = Bun.spawn([binary(), "publish", ep2.url, "--source", "test", "--duration", "1", "--log", "json", "--verbose"], { stderr: "pipe" });
    const autoText = await new Response(auto.stderr).text();
    const encoderLine = autoText.split("\n").find((l) => l.includes("encoder:"));
    row("startup, compiled binary exec → live (DTLS up)", `${live.toFixed(0)} ms with --encoder x264`, `--encoder auto probes first: ${encoderLine ? JSON.parse(encoderLine).msg : "n/a"}`);
  } finally {
    await ep2.close();
  }
}

// 4. Opus WebAssembly speed next to native libopus (ffmpeg -c:a libopus) on the same input.
async function opusSpeed(): Promise<void> {
  const seconds = 30;
  const n = seconds * 48_000;
  const pcm = new Int16Array(n * 2);
  for (let i = 0; i < n; i++) {
    const t = i / 48_000;
    const v = Math.sin(2 * Math.PI * 220 * t) + 0.5 * Math.sin(2 * Math.PI * 331 * t) + 0.3 * Math.sin(2 * Math.PI * 1234 * t * (1 + 0.01 * Math.sin(t)));
    pcm[2 * i] = Math.round(7000 * v);
    pcm[2 * i + 1] = Math.round(7000 * Math.sin(2 * Math.PI * 277 * t + v));
  }
  const bytes = new Uint8Array(pcm.buffer);
  const enc = await OpusStreamEncoder.create(DEFAULT_OPUS_SETTINGS);
  const c0 = process.cpuUsage();
  for (let at = 0; at < bytes.length; at += 3840 * 4) enc.push(bytes.subarray(at, at + 3840 * 4), 0n);
  const c1 = process.cpuUsage(c0);
  enc.free();
  const wasmRtf = seconds / ((c1.user + c1.system) / 1e6);
  const path = `${process.env.TMPDIR ?? "/tmp"}/whipcast-bench-${process.pid}.pcm`;
  await Bun.write(path, bytes);
  const native = Bun.spawn(["ffmpeg", "-hide_banner", "-loglevel", "error", "-f", "s16le", "-ar", "48000", "-ac", "2", "-i", path, "-c:a", "libopus", "-b:a", "128k", "-vbr", "on", "-compression_level", "10", "-frame_duration", "20", "-application", "audio", "-f", "null", "-"]);
  await native.exited;
  const usage = native.resourceUsage()!;
  const nativeRtf = seconds / ((Number(usage.cpuTime.user) + Number(usage.cpuTime.system)) / 1e6);
  await Bun.file(path).delete();
  row("Opus encode speed (realtime factor, 128k stereo, complexity 10)", `WebAssembly ${wasmRtf.toFixed(0)}× (${((100 / wasmRtf)).toFixed(2)} % of a core)`, `native libopus via ffmpeg ${nativeRtf.toFixed(0)}× (ratio ${(wasmRtf / nativeRtf).toFixed(2)})`);
}

// 5 & 6. The relay: CPU of `whipcast serve` per viewer count, and a viewer's join time.
async function relay(): Promise<void> {
  const serve = Bun.spawn([binary(), "serve", "--port", "0", "--max-viewers", "100"], { stderr: "pipe" });
  const reader = serve.stderr.pipeThrough(new TextDecoderStream()).getReader();
  let text = "";
  let origin: string | undefined;
  while (!origin) {
    const { done, value } = await reader.read();
    if (done) throw new Error(`serve exited: ${text}`);
    text += value;
    origin = /serving on (http:\/\/[\d.]+:\d+)/.exec(text)?.[1];
  }
  void (async () => {
    while (!(await reader.read()).done);
  })();
  const browser = await launchChromium();
  // Runs until the finally below stops it: twenty headless viewers can take longer to join than
  // any fixed --duration allows, and a stream that ended early would read as a near-idle relay.
  const pub = Bun.spawn([binary(), "publish", `${origin}/whip/bench`, "--source", "test", "--size", "1280x720", "--fps", "30", "--video-bitrate", "2500k", "--encoder", "x264", "--quiet"], { stderr: "inherit" });
  try {
    while (!((await (await fetch(`${origin}/api/streams`)).json()) as unknown[]).length) await Bun.sleep(100);
    await Bun.sleep(2000);
    const measure = async (seconds: number) => {
      const c0 = cpuSeconds(serve.pid);
      const t0 = performance.now();
      await Bun.sleep(seconds * 1000);
      return (100 * (cpuSeconds(serve.pid) - c0)) / ((performance.now() - t0) / 1000);
    };
    const base = await measure(4);
    const viewers: WhepViewer[] = [];
    const shares: string[] = [];
    for (const n of [1, 5, 20]) {
      while (viewers.length < n) {
        const v = await openWhepViewer(browser, origin);
        await v.join(`${origin}/whep/bench`, false);
        viewers.push(v);
      }
      await Bun.sleep(1500);
      const share = await measure(4);
      // A stream that ended would read as a near-idle relay: say what happened instead.
      if (pub.exitCode !== null) {
        shares.push(`${n}: the publisher exited (status ${pub.exitCode}) before this measurement`);
        break;
      }
      shares.push(`${n}: ${share.toFixed(1)} % (+${((share - base) / n).toFixed(2)} %/viewer)`);
    }
    row("relay CPU, `serve` process, 720p30 2.5 Mbit/s + Opus, by viewers", shares.join("; "), `publisher only, no viewers: ${base.toFixed(1)} % of one core`);
    for (const v of viewers) await v.leave().catch(() => {});
    await Promise.all(viewers.map((v) => v.page.close()));
    // Join time: WHEP POST → first presented frame, for viewers joining at random points of the GOP.
    const joins: number[] = [];
    for (let i = 0; i < 5; i++) {
      await Bun.sleep(300 + Math.random() * 1700);
      const v = await openWhepViewer(browser, origin);
      await v.join(`${origin}/whep/bench`);
      let t: number | undefined;
      for (let k = 0; k < 100 && t === undefined; k++) {
        await Bun.sleep(50);
        t = await v.firstFrameAfterMs();
      }
      if (t !== undefined) joins.push(t);
      await v.leave().catch(() => {});
      await v.page.close();
    }
    joins.sort((a, b) => a - b);
    const ended = pub.exitCode !== null ? `; the publisher exited (status ${pub.exitCode}) during the joins` : "";
    row("viewer join, WHEP POST → first decoded frame", `p50 ${percentile(joins, 50).toFixed(0)} ms, max ${(joins.at(-1) ?? Number.NaN).toFixed(0)} ms (${joins.length} joins${ended})`,
      "waiting for the next IDR instead would add 0–2000 ms (keyframe interval 2 s), 1000 ms on average");
  } finally {
    pub.kill("SIGTERM");
    await pub.exited;
    await browser.close();
    serve.kill("SIGTERM");
    await serve.exited;
  }
}

// 7. Lip sync as Chromium plays it (test/helpers/lip-sync.ts): flash vs tone burst, next to
// Chromium's own estimate from the Sender Reports. Its synchroniser closes the start-up gap in
// steps, so the first seconds and the settled state are printed apart.
async function lipSync(): Promise<void> {
  const r = await runLipSync(LIP_SYNC_SECONDS);
  const early = (at: number) => at < 10_000;
  const settled = (at: number) => at >= LIP_SYNC_SETTLED_MS;
  const probe = (keep: (at: number) => boolean) => r.probe.samples.filter((s) => keep(s.at)).map((s) => s.offsetMs);
  // estimatedPlayoutTimestamp is sender time now playing: audio minus video is negative when audio is late.
  const chromium = (keep: (at: number) => boolean) => r.probe.estimates.filter((e) => keep(e.at)).map((e) => -e.ms);
  for (const [label, keep] of [["first 10 s", early], [`from ${LIP_SYNC_SETTLED_MS / 1000} s on`, settled]] as const) {
    const p = probe(keep);
    row(
      `lip sync, audio late by (flash + tone each second), ${label}`,
      `probe median ${(median(p) ?? Number.NaN).toFixed(0)} ms over ${p.length} pairs`,
      `Chromium's own estimate (from the Sender Reports): ${(median(chromium(keep)) ?? Number.NaN).toFixed(0)} ms; the probe's WebAudio path adds its own delay`,
    );
  }
}

// 8–12. Adaptation, each scenario in its own namespace whose loopback is shaped with tbf
// (test/e2e/adapt-scenario.ts, the same runs the adaptation tests assert on).
const adaptRun = (s: AdaptScenario) => runInNamespace<AdaptResult>("adapt-scenario.ts", s);

/** The publisher's summary line (pacing figures) from a scenario's last stderr lines. */
function pacing(r: AdaptResult): { p50: number; p99: number } | undefined {
  for (const l of r.stderrTail ?? []) {
    const j = JSON.parse(l) as { pacingP50Ms?: number; pacingP99Ms?: number };
    if (j.pacingP50Ms !== undefined && j.pacingP99Ms !== undefined) return { p50: j.pacingP50Ms, p99: j.pacingP99Ms };
  }
  return undefined;
}

function receiverFigures(seconds: Second[], untilMs: number) {
  const live = seconds.filter((s) => s.atMs <= untilMs);
  const last = live.at(-1)!;
  const sent = live.filter((s) => s.sentBps !== undefined).map((s) => s.sentBps!);
  return {
    decoded: last.framesDecoded,
    expected: Math.round((last.atMs / 1000) * 30),
    freezes: last.freezeCount,
    concealed: (100 * last.concealedSamples) / Math.max(1, last.totalSamplesReceived),
    meanSent: sent.length > 0 ? sent.reduce((a, b) => a + b, 0) / sent.length : Number.NaN,
  };
}

async function adaptation(): Promise<void> {
  const BOTTLENECK_S = 30;
  const mine = await adaptRun({ mode: "bottleneck", publisher: "whipcast", seconds: BOTTLENECK_S, rateKbit: 1500 });
  const chromium = await adaptRun({ mode: "bottleneck", publisher: "chromium", seconds: BOTTLENECK_S, rateKbit: 1500 });
  const a = receiverFigures(mine.seconds, (BOTTLENECK_S - 1) * 1000);
  const b = receiverFigures(chromium.seconds, (BOTTLENECK_S - 1) * 1000);
  // Each counted against the frames its publisher sent (Chromium's fake camera runs at its own rate).
  if (chromium.publisherFramesSent !== undefined) b.expected = chromium.publisherFramesSent;
  const summary = (mine.stderrTail ?? []).map((l) => JSON.parse(l) as { videoFrames?: number }).find((j) => j.videoFrames !== undefined);
  if (summary?.videoFrames !== undefined) a.expected = summary.videoFrames;
  const fmt = (f: ReturnType<typeof receiverFigures>) =>
    `${f.decoded}/${f.expected} frames decoded (of those sent), ${f.freezes} freezes, ${f.concealed.toFixed(2)} % audio concealed, mean sent ${(f.meanSent / 1e6).toFixed(2)} Mbit/s`;
  row(`1.5 Mbit/s bottleneck, ${BOTTLENECK_S} s, whipcast (default 2.5 Mbit/s, 720p30)`, fmt(a), `Chromium's own publisher (fake camera 720p30, H.264 ≤ 2.5 Mbit/s), same cap: ${fmt(b)}`);
  const p = pacing(mine);
  row("pacing delay per frame, through the bottleneck", p ? `p50 ${p.p50.toFixed(1)} ms, p99 ${p.p99.toFixed(1)} ms` : "n/a", "time a frame's last packet waits in the pacer (whipcast's own figure)");

  const step = await adaptRun({ mode: "step", seconds: 34, steps: [[0, 4000], [10_000, 1000], [20_000, 4000]] });
  const lossAt = (i: number) => {
    const cur = step.seconds[i]!;
    const prev = step.seconds[i - 1]!;
    const lost = cur.videoPacketsLost - prev.videoPacketsLost;
    const rx = cur.videoPacketsReceived - prev.videoPacketsReceived;
    return lost / Math.max(1, lost + rx);
  };
  const adaptedAt = step.seconds.findIndex((s, i) => i > 0 && s.atMs > 10_000 && (s.sentBps ?? Infinity) <= 1_000_000 && lossAt(i) < 0.02);
  const recovered = step.seconds.find((s) => s.atMs > 20_000 && (s.sentBps ?? 0) >= 0.9 * 2_500_000);
  const lostDuring = step.seconds.filter((s) => s.atMs > 10_000 && s.atMs <= 20_000);
  const lost = lostDuring.at(-1)!.videoPacketsLost - lostDuring[0]!.videoPacketsLost;
  row(
    "step 4 → 1 → 4 Mbit/s: time to adapt, time to recover",
    `${adaptedAt > 0 ? `${((step.seconds[adaptedAt]!.atMs - 10_000) / 1000).toFixed(0)} s` : "never"} to send under the 1 Mbit/s cap with < 2 % loss; ${recovered ? `${((recovered.atMs - 20_000) / 1000).toFixed(0)} s` : "no"} back to ≥ 90 % of 2.5 Mbit/s`,
    `1 s samples; ${lost} video packets lost while capped; steps: ${step.adaptationLines.filter((l) => l.startsWith("video")).length} encoder changes`,
  );

  const pli = await adaptRun({ mode: "pli", requests: 12, spacingMs: 1_100, burst: 6 });
  const ms = (pli.keyframeLatencyMs ?? []).filter((v) => v >= 0).sort((x, y) => x - y);
  row(
    "PLI/FIR → first packet of the next IDR, at an independent (werift) receiver",
    ms.length > 0 ? `p50 ${percentile(ms, 50).toFixed(0)} ms, max ${ms[ms.length - 1]!.toFixed(0)} ms (${ms.length} requests, PLI and FIR alternating)` : "n/a",
    `with --keyframe-interval 4 and no keyframe on demand, the next IDR came 2.6–3.7 s after a PLI; a storm of 6 PLIs in 100 ms yielded ${pli.burstKeyframes} keyframe(s)`,
  );
}

/** CPU of the whole process tree (whipcast and every ffmpeg it runs), adapting or not. */
async function treeCpu(): Promise<void> {
  const measure = async (extra: string[]) => {
    const ep = await startBrowserWhipEndpoint();
    try {
      const proc = Bun.spawn([binary(), "publish", ep.url, "--source", "test", "--size", "1280x720", "--fps", "30", "--encoder", "x264", "--duration", String(STEADY_SECONDS + 8), "--log", "json", ...extra], { stderr: "pipe" });
      const log = new Response(proc.stderr).text();
      while (ep.sessions.length === 0 || (await ep.stats()).connectionState !== "connected") await Bun.sleep(100);
      await Bun.sleep(3_000);
      // Encoder processes come and go (a change of rate is a new one): sample the tree often.
      const seen = new Map<number, number>();
      const sample = () => {
        for (const pid of processTree(proc.pid)) {
          try {
            seen.set(pid, cpuSeconds(pid));
          } catch {}
        }
      };
      sample();
      const start = new Map(seen);
      const t0 = performance.now();
      while (performance.now() - t0 < STEADY_SECONDS * 1000) {
        await Bun.sleep(100);
        sample();
      }
      const seconds = (performance.now() - t0) / 1000;
      let cpu = 0;
      for (const [pid, end] of seen) cpu += end - (start.get(pid) ?? 0);
      await proc.exited;
      await log;
      return (100 * cpu) / seconds;
    } finally {
      await ep.close();
    }
  };
  const on = await measure([]);
  const off = await measure(["--no-adapt"]);
  // What one ffmpeg capturing and encoding the same in-process costs (no raw frames leave it):
  // the floor any design that spawns ffmpeg has, and what the restartable encoders add to.
  const plan = { encoder: "x264" as const, videoBitrate: 2_500_000, fps: 30, keyframeIntervalSeconds: 2, width: 1280, height: 720 };
  const single = Bun.spawn(["ffmpeg", "-hide_banner", "-nostdin", "-loglevel", "error", "-re", "-f", "lavfi", "-i", "testsrc2=size=1280x720:rate=30", "-vf", "format=yuv420p", ...encoderArgs(plan), "-f", "h264", "-y", "/dev/null"], { stderr: "ignore" });
  await Bun.sleep(3_000);
  const c0 = cpuSeconds(single.pid);
  const t0 = performance.now();
  await Bun.sleep(STEADY_SECONDS * 1000);
  const alone = (100 * (cpuSeconds(single.pid) - c0)) / ((performance.now() - t0) / 1000);
  single.kill();
  await single.exited;
  row(
    `CPU of the whole tree (whipcast + capture + encoders), ${STEADY_SECONDS} s of 720p30 on a clear path`,
    `adapting: ${on.toFixed(1)} % of one core`,
    `--no-adapt, same publish: ${off.toFixed(1)} %; one ffmpeg making the same video in-process (test pattern + x264, no audio, no network): ${alone.toFixed(1)} %`,
  );
}

console.error(`whipcast benchmarks (${SECONDS} s runs)`);
// BENCH_ONLY=relay,opus,startup,cpu,latency,glass,cost,lipsync,adapt,tree,recovery,soak runs a
// subset (cpu includes the frame hand-off; latency, glass and cost are bench/latency.ts; soak
// takes SOAK_SECONDS, 600, plus SOAK_RECONNECTS, 100, server restarts).
const only = new Set((process.env.BENCH_ONLY ?? "relay,opus,startup,cpu,latency,glass,cost,lipsync,adapt,tree,recovery,soak").split(","));
if (only.has("relay")) await relay();
if (only.has("opus")) await opusSpeed();
if (only.has("startup")) await startup();
if (only.has("cpu")) await cpuShareAndLatency();
await latencyBench(row, only);
if (only.has("lipsync")) await lipSync();
if (only.has("adapt")) await adaptation();
if (only.has("tree")) await treeCpu();
if (only.has("recovery")) await recoveryBench(row);
if (only.has("soak")) await soakBench(row);

const widths = [0, 1, 2].map((i) => Math.max(...rows.map((r) => r[i]!.length), ["figure", "value", "comparison (same run)"][i]!.length));
const line = (r: string[]) => `| ${r.map((c, i) => c.padEnd(widths[i]!)).join(" | ")} |`;
console.log(line(["figure", "value", "comparison (same run)"]));
console.log(`|${widths.map((w) => "-".repeat(w + 2)).join("|")}|`);
for (const r of rows) console.log(line(r));
process.exit(0);
