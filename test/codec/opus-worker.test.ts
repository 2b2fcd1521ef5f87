import { afterAll, describe, expect, test } from "bun:test";
import { OpusDecoder } from "opus-decoder";
import type { OpusCommand, OpusEvent, OpusPacketMessage } from "../../src/protocol.ts";
import { DEFAULT_OPUS_SETTINGS } from "../../src/codec/opus-encoder.ts";
import { workerUrl } from "../../src/workers.ts";

const RATE = 48_000;

/** A music-like stereo signal: a chord with a slow tremolo, different per channel. */
function signal(seconds: number): Int16Array {
  const n = seconds * RATE;
  const out = new Int16Array(n * 2);
  for (let i = 0; i < n; i++) {
    const t = i / RATE;
    const env = 0.6 + 0.4 * Math.sin(2 * Math.PI * 0.5 * t);
    const l = Math.sin(2 * Math.PI * 440 * t) + 0.5 * Math.sin(2 * Math.PI * 660 * t) + 0.25 * Math.sin(2 * Math.PI * 1320 * t);
    const r = Math.sin(2 * Math.PI * 330 * t) + 0.5 * Math.sin(2 * Math.PI * 880 * t);
    out[2 * i] = Math.round(8000 * env * l);
    out[2 * i + 1] = Math.round(8000 * env * r);
  }
  return out;
}

/** SNR in dB of `decoded` against `reference` at the best alignment (Opus adds a fixed delay). */
function snrDb(reference: Float32Array, decoded: Float32Array): number {
  let best = -Infinity;
  for (let lag = 0; lag < 1200; lag++) {
    let sig = 0;
    let noise = 0;
    for (let i = RATE / 10; i < reference.length - 1200; i++) {
      const d = decoded[i + lag] ?? 0;
      sig += reference[i]! ** 2;
      noise += (reference[i]! - d) ** 2;
    }
    best = Math.max(best, 10 * Math.log10(sig / noise));
  }
  return best;
}

interface Harness {
  worker: Worker;
  packets: OpusPacketMessage[];
  events: OpusEvent[];
}

async function startWorker(bitrate: number): Promise<Harness> {
  const worker = new Worker(workerUrl("codec/opus.worker"));
  const { port1, port2 } = new MessageChannel();
  const h: Harness = { worker, packets: [], events: [] };
  port2.onmessage = (e: MessageEvent<OpusPacketMessage>) => h.packets.push(e.data);
  const ready = new Promise<void>((resolve) => {
    worker.onmessage = (e: MessageEvent<OpusEvent>) => {
      h.events.push(e.data);
      if (e.data.type === "ready") resolve();
    };
  });
  worker.postMessage({ type: "init", settings: { ...DEFAULT_OPUS_SETTINGS, bitrate }, output: port1 } satisfies OpusCommand, [port1]);
  await ready;
  return h;
}

async function until(cond: () => boolean): Promise<void> {
  while (!cond()) await Bun.sleep(5);
}

const workers: Worker[] = [];
afterAll(() => workers.forEach((w) => w.terminate()));

describe("Opus in the Worker (libopus ≥ 1.5, WebAssembly)", () => {
  test("round trip: PCM in random chunk sizes → 20 ms packets → opus-decoder, SNR ≥ 15 dB", async () => {
    const h = await startWorker(128_000);
    workers.push(h.worker);
    expect(h.events[0]).toMatchObject({ type: "ready" });
    const version = (h.events[0] as { version: string }).version;
    const [major, minor] = version.replace(/^libopus /, "").split(".").map(Number);
    expect(major! > 1 || (major === 1 && minor! >= 5)).toBe(true);

    const pcm = signal(2);
    const bytes = new Uint8Array(pcm.buffer);
    let at = 0;
    let seed = 7;
    while (at < bytes.length) {
      seed = (seed * 1103515245 + 12345) & 0x7fffffff;
      const n = Math.min(bytes.length - at, 1 + (seed % 9000));
      const chunk = bytes.slice(at, at + n).buffer;
      h.worker.postMessage({ type: "pcm", data: chunk, captureNs: 1_000_000_000n } satisfies OpusCommand, [chunk]);
      at += n;
    }
    const frames = (2 * RATE) / 960;
    await until(() => h.packets.length === frames);
    // Frame k is stamped k × 20 ms after the first sample.
    expect(h.packets.map((p) => p.captureNs)).toEqual(Array.from({ length: frames }, (_, k) => 1_000_000_000n + BigInt(k) * 20_000_000n));

    const decoder = new OpusDecoder({ channels: 2, forceStereo: true } as ConstructorParameters<typeof OpusDecoder>[0]);
    await decoder.ready;
    const left: number[] = [];
    const right: number[] = [];
    for (const p of h.packets) {
      const out = decoder.decodeFrame(new Uint8Array(p.data));
      expect(out.samplesDecoded).toBe(960);
      left.push(...out.channelData[0]!);
      right.push(...out.channelData[1]!);
    }
    decoder.free();
    const refL = new Float32Array(pcm.length / 2);
    const refR = new Float32Array(pcm.length / 2);
    for (let i = 0; i < refL.length; i++) {
      refL[i] = pcm[2 * i]! / 32768;
      refR[i] = pcm[2 * i + 1]! / 32768;
    }
    expect(snrDb(refL, Float32Array.from(left))).toBeGreaterThanOrEqual(15);
    expect(snrDb(refR, Float32Array.from(right))).toBeGreaterThanOrEqual(15);
    // 128 kbit/s VBR: about 320 bytes per 20 ms packet on average.
    const avg = h.packets.reduce((s, p) => s + p.data.byteLength, 0) / h.packets.length;
    expect(avg).toBeGreaterThan(200);
    expect(avg).toBeLessThan(450);
  });

  test("the bitrate can be changed while running", async () => {
    const h = await startWorker(128_000);
    workers.push(h.worker);
    const feed = (seconds: number) => {
      const buf = signal(seconds).buffer as ArrayBuffer;
      h.worker.postMessage({ type: "pcm", data: buf, captureNs: 0n } satisfies OpusCommand, [buf]);
    };
    feed(1);
    await until(() => h.packets.length === 50);
    const high = h.packets.splice(0).reduce((s, p) => s + p.data.byteLength, 0);
    h.worker.postMessage({ type: "bitrate", bitrate: 32_000 } satisfies OpusCommand);
    await until(() => h.events.some((e) => e.type === "bitrate"));
    expect(h.events.find((e) => e.type === "bitrate")).toEqual({ type: "bitrate", bitrate: 32_000 });
    feed(1);
    await until(() => h.packets.length === 50);
    const low = h.packets.reduce((s, p) => s + p.data.byteLength, 0);
    expect(low).toBeLessThan(high / 2.5);
  });
});
