/**
 * Delay at a real receiver and the cost of a whole publisher, each beside a reference measured
 * in the same run:
 * - capture → presented at Chromium (requestVideoFrameCallback captureTime) for the test source,
 *   next to Chromium's own publisher (fake camera, H.264) measured the same way;
 * - glass to glass for a screen: a clock drawn on a virtual X screen, read back from the pixels
 *   Chromium presents (bench/glass.ts), next to the captureTime figure of the same frames;
 * - CPU and PSS of the whole process tree, and of each process in it, publishing the same 720p30
 *   file (MJPEG + PCM), next to GStreamer's pipeline with the same preset and rates (gstPipeline).
 */
import { binary } from "../test/helpers/binary.ts";
import { startBrowserWhipEndpoint, type BrowserWhipEndpoint, type PresentedFrame } from "../test/helpers/browser-whip-endpoint.ts";
import { launchChromium } from "../test/helpers/chromium.ts";
import { startChromiumPublisher } from "../test/helpers/chromium-publisher.ts";
import { type ClockFrame, READ_CLOCK_SCRIPT, startClockScreen } from "./glass.ts";
import { cpuSeconds, processRole, processTree, pssKb } from "./proc.ts";

type Row = (name: string, value: string, comparison: string) => void;

const WARM_MS = 3_000;
const MEASURE_MS = Number(process.env.BENCH_LATENCY_SECONDS ?? 15) * 1_000;

function spread(xs: number[]): string {
  if (xs.length === 0) return "n/a (no frames)";
  const s = [...xs].sort((a, b) => a - b);
  const at = (p: number) => s[Math.min(s.length - 1, Math.floor(p * s.length))]!;
  return `p50 ${at(0.5).toFixed(1)} ms, p95 ${at(0.95).toFixed(1)} ms, max ${s[s.length - 1]!.toFixed(1)} ms (${s.length} frames)`;
}

/** Presented frames from the warm-up on: capture → presented, and capture → last packet in. */
async function presented(endpoint: BrowserWhipEndpoint): Promise<{ total: number[]; network: number[] }> {
  const frames: PresentedFrame[] = await endpoint.frames();
  const start = frames[0]?.presentedMs ?? 0;
  const judged = frames.filter((f) => f.presentedMs - start >= WARM_MS && f.captureMs !== undefined);
  return { total: judged.map((f) => f.presentedMs - f.captureMs!), network: judged.filter((f) => f.receiveMs !== undefined).map((f) => f.receiveMs! - f.captureMs!) };
}

async function testSource(row: Row, audio: boolean): Promise<void> {
  const seconds = (WARM_MS + MEASURE_MS) / 1000 + 2;
  const mine = await startBrowserWhipEndpoint();
  let a: { total: number[]; network: number[] };
  try {
    const proc = Bun.spawn([binary(), "publish", mine.url, "--source", "test", "--size", "1280x720", "--fps", "30", "--encoder", "x264", ...(audio ? [] : ["--no-audio"]), "--duration", String(seconds), "--quiet"], { stderr: "ignore" });
    await proc.exited;
    a = await presented(mine);
  } finally {
    await mine.close();
  }
  const theirs = await startBrowserWhipEndpoint();
  const browser = await launchChromium(["--use-fake-device-for-media-stream"]);
  let b: { total: number[]; network: number[] };
  try {
    const pub = await startChromiumPublisher(browser, theirs.url, { audio });
    await Bun.sleep(seconds * 1000);
    b = await presented(theirs);
    await pub.close();
  } finally {
    await browser.close();
    await theirs.close();
  }
  // With audio, a receiver holds each frame until the audio of its instant plays (lip sync):
  // the audio jitter buffer's depth is then part of every frame's delay, for any publisher.
  const what = audio ? "test source 720p30 with audio" : "test source 720p30, video alone";
  row(`capture → presented at Chromium (rVFC captureTime), ${what}`, spread(a.total), `Chromium's own publisher (fake camera 720p30, H.264${audio ? ", fake microphone" : ""}), same receiver: ${spread(b.total)}`);
  row("  of which capture → last packet received", spread(a.network), `Chromium's publisher: ${spread(b.network)}`);
}

async function screen(row: Row): Promise<void> {
  const clock = await startClockScreen();
  if (!clock) {
    row("glass to glass, screen (clock drawn on Xvfb, read off the presented pixels)", "n/a: needs Xvfb and python3-tk", "apt-get install xvfb python3-tk");
    return;
  }
  try {
    const endpoint = await startBrowserWhipEndpoint();
    try {
      await endpoint.page.evaluate(READ_CLOCK_SCRIPT);
      const seconds = (WARM_MS + MEASURE_MS) / 1000;
      const proc = Bun.spawn([binary(), "publish", endpoint.url, "--source", "screen", "--no-audio", "--size", "1280x720", "--fps", "30", "--encoder", "x264", "--duration", String(seconds + 2), "--quiet"], {
        stderr: "ignore",
        env: { ...process.env, DISPLAY: clock.display },
      });
      while (!(await endpoint.page.evaluate(() => Object.keys((window as unknown as { videos: object }).videos).length > 0)) && proc.exitCode === null) await Bun.sleep(100);
      await endpoint.page.evaluate((top) => {
        const w = window as unknown as { videos: Record<string, HTMLVideoElement>; readClock(v: HTMLVideoElement, top: number): void };
        w.readClock(Object.values(w.videos)[0]!, top);
      }, clock.top);
      await proc.exited;
      const frames: ClockFrame[] = await endpoint.page.evaluate(() => (Object.values((window as unknown as { videos: Record<string, { clockFrames: unknown }> }).videos)[0]!.clockFrames ?? []) as never);
      const start = frames[0]?.presentedMs ?? 0;
      const judged = frames.filter((f) => f.presentedMs - start >= WARM_MS);
      const stamped = judged.filter((f) => f.captureMs !== undefined);
      const received = judged.filter((f) => f.receiveMs !== undefined);
      row(
        "glass to glass, screen 720p30 (a clock drawn on Xvfb, read off the pixels Chromium presents)",
        spread(judged.map((f) => f.presentedMs - f.drawnMs)),
        `the same frames by whipcast's own capture stamp (rVFC captureTime): ${spread(stamped.map((f) => f.presentedMs - f.captureMs!))}; drawn → stamped (the clock's age when grabbed): ${spread(stamped.map((f) => f.captureMs! - f.drawnMs))}`,
      );
      // rVFC's receiveTime: when the frame's last packet arrived. It splits the delay between the
      // publisher's side (grab, capture, encode, pacing, the network) and the receiver's.
      row("  drawn → last packet received (rVFC receiveTime)", spread(received.map((f) => f.receiveMs! - f.drawnMs)), "");
      row("  last packet received → presented (jitter buffer, decode, render)", spread(received.map((f) => f.presentedMs - f.receiveMs!)), "");
    } finally {
      await endpoint.close();
    }
  } finally {
    await clock.close();
  }
}

interface TreeCost {
  /** Share of one core, whole tree. */
  cpu: number;
  /** Median PSS of the whole tree, MB. */
  pssMb: number;
  /** Share of one core and median PSS (MB) per role (several ffmpeg encoders are one role). */
  roles: Map<string, { cpu: number; pssMb: number }>;
  decoded: number | undefined;
}

/** CPU and memory of a process tree over the steady part of a publish. */
async function treeCost(command: string[], ready: () => boolean, seconds: number, decoded: () => Promise<number | undefined>): Promise<TreeCost | string> {
  const proc = Bun.spawn(command, { stdout: "ignore", stderr: "pipe" });
  const err = new Response(proc.stderr).text();
  while (!ready() && proc.exitCode === null) await Bun.sleep(100);
  await Bun.sleep(WARM_MS);
  const cpuAt = new Map<number, number>();
  const roleOf = new Map<number, string>();
  const sample = () => {
    const pss = new Map<string, number>();
    for (const pid of processTree(proc.pid)) {
      try {
        cpuAt.set(pid, cpuSeconds(pid));
        const role = roleOf.get(pid) ?? processRole(pid);
        roleOf.set(pid, role);
        pss.set(role, (pss.get(role) ?? 0) + pssKb(pid));
      } catch {
        // it ended between listing and reading
      }
    }
    return pss;
  };
  sample();
  const start = new Map(cpuAt);
  const t0 = performance.now();
  const samples: Map<string, number>[] = [];
  while (performance.now() - t0 < seconds * 1000 && proc.exitCode === null) {
    await Bun.sleep(250);
    samples.push(sample());
  }
  const wall = (performance.now() - t0) / 1000;
  proc.kill("SIGTERM");
  await proc.exited;
  if (samples.length === 0) return `exited early (${(await err).trim().split("\n").at(-1) ?? "no output"})`;
  const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]! / 1024;
  const roles = new Map<string, { cpu: number; pssMb: number }>();
  for (const role of new Set(roleOf.values())) {
    let cpu = 0;
    for (const [pid, end] of cpuAt) if (roleOf.get(pid) === role) cpu += end - (start.get(pid) ?? 0);
    roles.set(role, { cpu: (100 * cpu) / wall, pssMb: median(samples.map((s) => s.get(role) ?? 0)) });
  }
  const cpu = [...roles.values()].reduce((a, r) => a + r.cpu, 0);
  return { cpu, pssMb: median(samples.map((s) => [...s.values()].reduce((a, b) => a + b, 0))), roles, decoded: await decoded() };
}

function costText(r: TreeCost | string): string {
  if (typeof r === "string") return r;
  const parts = [...r.roles].map(([role, x]) => `${role} ${x.cpu.toFixed(1)} % / ${x.pssMb.toFixed(0)} MB`).join(", ");
  return `${r.cpu.toFixed(1)} % of one core, PSS ${r.pssMb.toFixed(0)} MB (${parts})${r.decoded === undefined ? "" : `; ${r.decoded} frames decoded`}`;
}

/**
 * GStreamer's publishing pipeline for the same file, preset and rates, up to the RTP packets:
 * matroskademux, jpegdec, x264enc, rtph264pay; opusenc, rtpopuspay; each paced to the clock.
 * webrtcbin is left out: Debian 12's 1.22 makes no offer here more often than not
 * (bench/gst-whip.py), and whip-client cannot load beside it (libsoup 2 and 3). What it leaves out,
 * SRTP and ICE for 2.6 Mbit/s, is the smallest part of a publisher's work, so this reference errs
 * on GStreamer's side.
 */
function gstPipeline(file: string): string[] {
  const video = "d.video_0 ! queue ! jpegdec ! videoconvert ! video/x-raw,format=I420 ! x264enc tune=zerolatency speed-preset=veryfast bitrate=2500 vbv-buf-capacity=1000 key-int-max=60 ! video/x-h264,profile=constrained-baseline ! rtph264pay config-interval=-1 aggregate-mode=zero-latency mtu=1200 ! fakesink sync=true";
  const audio = "d.audio_0 ! queue ! audioconvert ! audioresample ! audio/x-raw,rate=48000,channels=2 ! opusenc bitrate=128000 frame-size=20 ! rtpopuspay mtu=1200 ! fakesink sync=true";
  return ["gst-launch-1.0", "-q", "filesrc", `location=${file}`, "!", "matroskademux", "name=d", ...video.split(" "), ...audio.split(" ")];
}

async function fileCost(row: Row): Promise<void> {
  const file = `${process.env.TMPDIR ?? "/tmp"}/whipcast-bench-720p30.mkv`;
  const seconds = Number(process.env.BENCH_TREE_SECONDS ?? 20);
  // The issue's reference input: 720p30 MJPEG and 48 kHz PCM in Matroska, long enough to need no loop.
  const make = Bun.spawnSync(["ffmpeg", "-hide_banner", "-loglevel", "error", "-f", "lavfi", "-i", "testsrc2=size=1280x720:rate=30", "-f", "lavfi", "-i", "sine=frequency=440:sample_rate=48000", "-t", String(seconds + WARM_MS / 1000 + 10), "-c:v", "mjpeg", "-q:v", "3", "-pix_fmt", "yuvj420p", "-c:a", "pcm_s16le", "-ac", "2", "-y", file]);
  if (make.exitCode !== 0) throw new Error(`cannot make the bench file: ${make.stderr.toString()}`);
  const whipcast = async (extra: string[]) => {
    const endpoint = await startBrowserWhipEndpoint();
    try {
      const command = [binary(), "publish", endpoint.url, "--source", file, "--size", "1280x720", "--fps", "30", "--video-bitrate", "2500k", "--audio-bitrate", "128k", "--encoder", "x264", "--quiet", ...extra];
      return await treeCost(command, () => endpoint.sessions.length > 0, seconds, async () => (await endpoint.stats().catch(() => undefined))?.video?.framesDecoded ?? 0);
    } finally {
      await endpoint.close();
    }
  };
  const mine = await whipcast(["--no-adapt"]);
  const adapting = await whipcast([]);
  const theirs = Bun.which("gst-launch-1.0") ? await treeCost(gstPipeline(file), () => true, seconds, async () => undefined) : "n/a: needs gstreamer1.0-tools, -plugins-good, -plugins-ugly (x264enc), -plugins-base (opusenc)";
  const what = `publishing a 720p30 MJPEG + PCM file (x264 veryfast, 2.5 Mbit/s, Opus 128k), ${seconds} s`;
  row(`whole process tree ${what}, --no-adapt`, costText(mine), `GStreamer's pipeline, same file, preset and rates, to RTP packets (no webrtcbin): ${costText(theirs)}`);
  row("  the same, adapting (the default)", costText(adapting), "");
  await Bun.file(file).delete();
}

export async function latencyBench(row: Row, parts: Set<string>): Promise<void> {
  if (parts.has("latency")) {
    await testSource(row, false);
    await testSource(row, true);
  }
  if (parts.has("glass")) await screen(row);
  if (parts.has("cost")) await fileCost(row);
}
