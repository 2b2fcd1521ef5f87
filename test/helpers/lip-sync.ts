import { join } from "node:path";
import type { Page } from "playwright-core";

/**
 * Lip sync as a viewer sees and hears it. The source file starts every second with a white
 * flash (100 ms) and a 1 kHz tone burst (100 ms) at the same media time. In the Chromium
 * receiver, each flash's display time comes from requestVideoFrameCallback (expectedDisplayTime)
 * and each burst's playout time from an AudioWorklet on the received track, mapped to the page
 * clock with getOutputTimestamp(). Each flash/burst pair gives one offset: audio minus video, ms.
 *
 * Next to it, once a second, the probe records Chromium's own view: the difference between the
 * audio and video `estimatedPlayoutTimestamp` (the sender-clock time now playing, which Chromium
 * derives from the Sender Reports). Both are read from the same run.
 */

/** How long the lip-sync run publishes. */
export const LIP_SYNC_SECONDS = 30;
/**
 * Chromium's synchroniser closes the start-up gap between audio and video in steps of some
 * 15–20 ms a second (RtpStreamsSynchronizer), so a viewer's first seconds are judged apart:
 * the settled figures read flashes from this point on (ms after the probe started).
 */
export const LIP_SYNC_SETTLED_MS = 18_000;

/**
 * Write the flash/burst file. The audio is PCM in packets of 1024 samples (21 ms), as most
 * files carry it (AAC frames are the same length) and without a codec's priming delay.
 */
export function makeSyncFile(dir: string, seconds: number): string {
  const file = join(dir, "flash-beep.mkv");
  const make = Bun.spawnSync([
    "ffmpeg", "-hide_banner", "-loglevel", "error", "-y",
    "-f", "lavfi", "-i", "color=black:s=640x360:r=30,drawbox=x=0:y=0:w=iw:h=ih:color=white:t=fill:enable='lt(mod(t\\,1)\\,0.1)'",
    "-f", "lavfi", "-i", "sine=f=1000:sample_rate=48000,volume=volume=0:enable='gte(mod(t\\,1)\\,0.1)'",
    "-t", String(seconds), "-c:v", "libx264", "-preset", "veryfast", "-g", "30", "-pix_fmt", "yuv420p", "-c:a", "pcm_s16le", file,
  ]);
  if (make.exitCode !== 0) throw new Error(`ffmpeg could not make the sync file: ${make.stderr.toString()}`);
  return file;
}

/** Defines window.syncProbe(pc): false until the session's <video> and <audio> exist. */
export const SYNC_PROBE_SCRIPT = `
window.syncProbe = async (pc) => {
  const video = document.querySelector("video"), audioEl = document.querySelector("audio");
  if (!pc || !video || !audioEl) return false;
  const t0 = performance.now();
  const probe = { flashes: [], bursts: [], estimates: [] };
  window.syncResult = probe;
  const canvas = new OffscreenCanvas(16, 9), g = canvas.getContext("2d", { willReadFrequently: true });
  let bright = false;
  const onFrame = (_, meta) => {
    g.drawImage(video, 0, 0, 16, 9);
    const d = g.getImageData(0, 0, 16, 9).data;
    let sum = 0;
    for (let i = 0; i < d.length; i += 4) sum += d[i];
    const now = sum / (d.length / 4) > 128;
    if (now && !bright) probe.flashes.push(meta.expectedDisplayTime - t0);
    bright = now;
    video.requestVideoFrameCallback(onFrame);
  };
  video.requestVideoFrameCallback(onFrame);
  const ctx = new AudioContext({ sampleRate: 48000 });
  await ctx.resume();
  const worklet = 'registerProcessor("onset", class extends AudioWorkletProcessor { constructor() { super(); this.loud = false; }' +
    ' process(inputs) { const ch = inputs[0] && inputs[0][0]; if (ch) { let first = -1; for (let i = 0; i < ch.length; i++) if (Math.abs(ch[i]) > 0.05) { first = i; break; }' +
    ' const loud = first >= 0; if (loud && !this.loud) this.port.postMessage(currentTime + first / sampleRate); this.loud = loud; } return true; } });';
  await ctx.audioWorklet.addModule(URL.createObjectURL(new Blob([worklet], { type: "application/javascript" })));
  const node = new AudioWorkletNode(ctx, "onset");
  ctx.createMediaStreamSource(audioEl.srcObject).connect(node);
  node.connect(ctx.destination);
  node.port.onmessage = (e) => {
    const ts = ctx.getOutputTimestamp();
    probe.bursts.push(ts.performanceTime + (e.data - ts.contextTime) * 1000 - t0);
  };
  const estimate = async () => {
    const o = {};
    (await pc.getStats()).forEach((s) => { if (s.type === "inbound-rtp") o[s.kind] = s.estimatedPlayoutTimestamp; });
    if (o.audio && o.video) probe.estimates.push({ at: performance.now() - t0, ms: o.audio - o.video });
    if (pc.connectionState !== "closed" && pc.connectionState !== "failed") setTimeout(estimate, 1000);
  };
  estimate();
  return true;
};`;

export interface SyncSample {
  /** Page time of the flash (ms since the probe started). */
  at: number;
  /** Burst playout minus flash display, ms: positive when audio is late. */
  offsetMs: number;
}

export interface SyncProbeResult {
  flashes: number;
  bursts: number;
  samples: SyncSample[];
  /** Chromium's own audio-minus-video estimate (estimatedPlayoutTimestamp), once a second. */
  estimates: { at: number; ms: number }[];
}

interface ProbeWindow {
  syncProbe(pc: unknown): Promise<boolean>;
  syncResult?: { flashes: number[]; bursts: number[]; estimates: { at: number; ms: number }[] };
}

/**
 * Start the probe on the peer connection that `pcExpression` names in the page, as soon as its
 * elements exist (before the first flash plays out). Returns false if they never appeared.
 */
export async function startSyncProbe(page: Page, pcExpression: string, timeoutMs = 10_000): Promise<boolean> {
  await page.evaluate(SYNC_PROBE_SCRIPT);
  const started = Date.now();
  while (Date.now() - started < timeoutMs) {
    if (await page.evaluate(`window.syncProbe(${pcExpression})`)) return true;
    await Bun.sleep(50);
  }
  return false;
}

export async function readSyncProbe(page: Page): Promise<SyncProbeResult> {
  const raw = await page.evaluate(() => (window as unknown as ProbeWindow).syncResult ?? { flashes: [], bursts: [], estimates: [] });
  return { flashes: raw.flashes.length, bursts: raw.bursts.length, samples: pairFlashes(raw.flashes, raw.bursts), estimates: raw.estimates };
}

/**
 * Pair each flash with the burst nearest to it. They recur once a second, so a pair is
 * unambiguous while the offset stays under half a second; farther ones are left unpaired.
 */
export function pairFlashes(flashes: number[], bursts: number[]): SyncSample[] {
  const out: SyncSample[] = [];
  for (const f of flashes) {
    let best = Number.POSITIVE_INFINITY;
    for (const b of bursts) if (Math.abs(b - f) < Math.abs(best - f)) best = b;
    if (Math.abs(best - f) < 500) out.push({ at: f, offsetMs: best - f });
  }
  return out;
}

export function median(values: number[]): number | undefined {
  if (values.length === 0) return undefined;
  const s = [...values].sort((a, b) => a - b);
  const mid = s.length >> 1;
  return s.length % 2 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2;
}
