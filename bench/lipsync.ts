/**
 * Lip sync as a viewer sees and hears it, inside a loopback-only namespace. whipcast publishes a
 * file whose every second starts with a white flash (100 ms) and a 1 kHz tone burst (100 ms)
 * at the same media time. In the Chromium receiver, each flash's display time comes from
 * requestVideoFrameCallback (expectedDisplayTime) and each burst's playout time from an
 * AudioWorklet on the received track, mapped to the page clock with getOutputTimestamp(). The
 * result line holds every flash/burst pair's offset (audio minus video, ms), for whipcast and,
 * as the reference, for Chromium sending the same file to itself. `bun run bench` prints both.
 *
 *   bun bench/lipsync.ts   (run by bench/run.ts, inside its loopback-only namespace)
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { binary } from "../test/helpers/binary.ts";
import { startBrowserWhipEndpoint } from "../test/helpers/browser-whip-endpoint.ts";

const dir = mkdtempSync(join(tmpdir(), "whipcast-lipsync-"));
const file = join(dir, "flash-beep.mkv");
const make = Bun.spawnSync([
  "ffmpeg", "-hide_banner", "-loglevel", "error", "-y",
  "-f", "lavfi", "-i", "color=black:s=640x360:r=30,drawbox=x=0:y=0:w=iw:h=ih:color=white:t=fill:enable='lt(mod(t\\,1)\\,0.1)'",
  "-f", "lavfi", "-i", "sine=f=1000:sample_rate=48000,volume=volume=0:enable='gte(mod(t\\,1)\\,0.1)'",
  "-t", "12", "-c:v", "libx264", "-preset", "veryfast", "-g", "30", "-pix_fmt", "yuv420p", "-c:a", "flac", file,
]);
if (make.exitCode !== 0) throw new Error(`ffmpeg could not make the sync file: ${make.stderr.toString()}`);
// The same flashes and bursts as WebM (VP8 + Opus), which Chromium can play and capture itself.
const webm = join(dir, "flash-beep.webm");
const makeWebm = Bun.spawnSync(["ffmpeg", "-hide_banner", "-loglevel", "error", "-y", "-i", file, "-c:v", "libvpx", "-deadline", "realtime", "-b:v", "1M", "-c:a", "libopus", webm]);
if (makeWebm.exitCode !== 0) throw new Error(`ffmpeg could not make the WebM reference: ${makeWebm.stderr.toString()}`);

const PROBE = `
window.syncProbe = async (cls) => {
  const video = document.querySelector("video" + cls), audioEl = document.querySelector("audio" + cls);
  if (!video || !audioEl) return false;
  const probe = { flashes: [], bursts: [] };
  window.sync = window.sync || {};
  window.sync[cls] = probe;
  const canvas = new OffscreenCanvas(16, 9), g = canvas.getContext("2d", { willReadFrequently: true });
  let bright = false;
  const onFrame = (_, meta) => {
    g.drawImage(video, 0, 0, 16, 9);
    const d = g.getImageData(0, 0, 16, 9).data;
    let sum = 0;
    for (let i = 0; i < d.length; i += 4) sum += d[i];
    const now = sum / (d.length / 4) > 128;
    if (now && !bright) probe.flashes.push(meta.expectedDisplayTime);
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
    probe.bursts.push(ts.performanceTime + (e.data - ts.contextTime) * 1000);
  };
  return true;
};
// The reference: Chromium sending the same file to itself over a WebRTC loopback, measured the
// same way. Whatever the probe itself adds (WebAudio buffering, compositor) is in both figures.
window.chromeLoopback = async (b64) => {
  const bytes = Uint8Array.from(atob(b64), (c) => c.charCodeAt(0));
  const src = document.createElement("video");
  src.src = URL.createObjectURL(new Blob([bytes], { type: "video/webm" }));
  src.playsInline = true;
  await src.play();
  const stream = src.captureStream();
  const a = new RTCPeerConnection(), b = new RTCPeerConnection();
  a.onicecandidate = (e) => e.candidate && b.addIceCandidate(e.candidate);
  b.onicecandidate = (e) => e.candidate && a.addIceCandidate(e.candidate);
  b.ontrack = (e) => {
    const el = document.createElement(e.track.kind);
    el.className = "ref"; el.autoplay = true; el.srcObject = new MediaStream([e.track]);
    document.body.append(el);
  };
  for (const t of stream.getTracks()) a.addTrack(t, stream);
  await a.setLocalDescription(await a.createOffer());
  await b.setRemoteDescription(a.localDescription);
  await b.setLocalDescription(await b.createAnswer());
  await a.setRemoteDescription(b.localDescription);
  window.refPcs = [a, b, src];
};`;

const endpoint = await startBrowserWhipEndpoint();
try {
  await endpoint.page.evaluate(PROBE);
  const proc = Bun.spawn([binary(), "publish", "--source", file, "--duration", "11", "--log", "json"], { stdout: "pipe", stderr: "pipe", env: { ...process.env, WHIP_URL: endpoint.url } });
  const stderr = new Response(proc.stderr).text();
  // Start listening as soon as the receiver has both elements, before the first flash plays out.
  const started = Date.now();
  type Probe = { flashes: number[]; bursts: number[] };
  type Page = { syncProbe(prefix: string): Promise<boolean>; chromeLoopback(b64: string): Promise<void>; sync?: Record<string, Probe> };
  const listen = async (prefix: string) => {
    const started = Date.now();
    while (!(await endpoint.page.evaluate((p) => (window as unknown as Page).syncProbe(p), prefix)) && Date.now() - started < 10_000) await Bun.sleep(50);
  };
  const offsetsOf = async (prefix: string) => {
    const probe = await endpoint.page.evaluate((p) => (window as unknown as Page).sync?.[p] ?? { flashes: [], bursts: [] }, prefix);
    // Pair each flash with the burst nearest to it (a second apart, so the pairing is unambiguous).
    const offsets = probe.flashes
      .map((f) => probe.bursts.reduce((best, b) => (Math.abs(b - f) < Math.abs(best - f) ? b : best), Number.POSITIVE_INFINITY) - f)
      .filter((o) => Math.abs(o) < 500);
    return { flashes: probe.flashes.length, bursts: probe.bursts.length, offsets };
  };
  await listen("");
  const exitCode = await proc.exited;
  const whipcast = await offsetsOf("");
  await endpoint.page.evaluate((b64) => (window as unknown as Page).chromeLoopback(b64), Buffer.from(await Bun.file(webm).arrayBuffer()).toString("base64"));
  await listen(".ref");
  await Bun.sleep(11_000);
  const chromium = await offsetsOf(".ref");
  process.stdout.write(`${JSON.stringify({ exitCode, whipcast, chromium, errors: (await stderr).split("\n").filter((l) => l.includes('"error"')) })}\n`);
} finally {
  await endpoint.close();
  rmSync(dir, { recursive: true, force: true });
}
