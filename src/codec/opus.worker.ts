/// <reference lib="webworker" />
/**
 * The Opus Worker: a thin message loop over OpusStreamEncoder. PCM comes from the main thread;
 * packets go straight to the session Worker through the MessagePort given at init.
 */
import { toPayload } from "../errors.ts";
import { type OpusCommand, type OpusEvent, type OpusPacketMessage, transferable } from "../protocol.ts";
import { OpusStreamEncoder } from "./opus-encoder.ts";

declare const self: Worker;

let encoder: OpusStreamEncoder | undefined;
let output: MessagePort | undefined;
let cpuMs = 0;
const post = (event: OpusEvent) => self.postMessage(event);

self.onmessage = async (e: MessageEvent<OpusCommand>) => {
  const cmd = e.data;
  try {
    switch (cmd.type) {
      case "init":
        encoder = await OpusStreamEncoder.create(cmd.settings);
        output = cmd.output;
        post({ type: "ready", version: encoder.version });
        break;
      case "pcm": {
        if (!encoder || !output) return;
        const t0 = performance.now();
        const packets = encoder.push(new Uint8Array(cmd.data), cmd.captureNs);
        cpuMs += performance.now() - t0;
        for (const p of packets) {
          // libopus-wasm returns each packet in a fresh array of its own: no copy needed.
          const data = transferable(p.data);
          output.postMessage({ type: "audio", data, captureNs: p.captureNs } satisfies OpusPacketMessage, [data]);
        }
        break;
      }
      case "bitrate":
        if (encoder) post({ type: "bitrate", bitrate: encoder.setBitrate(cmd.bitrate) });
        break;
      case "close":
        post({ type: "closed", frames: encoder?.frames ?? 0, cpuMs });
        encoder?.free();
        encoder = undefined;
        output?.close();
        break;
    }
  } catch (error) {
    post({ type: "error", error: { ...toPayload(error), code: "media" } });
  }
};
