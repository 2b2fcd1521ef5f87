import { Application, createEncoder, EncoderCtl, loadLibopus, type OpusEncoderHandle } from "libopus-wasm";
import type { OpusSettings } from "../protocol.ts";
import { PcmReframer } from "./pcm-reframer.ts";

/** 20 ms at 48 kHz (RFC 7587 §4.2: 20 ms is the WebRTC default frame). */
export const OPUS_FRAME_SAMPLES = 960;
export const OPUS_CHANNELS = 2;
export const OPUS_SAMPLE_RATE = 48_000;

export const DEFAULT_OPUS_SETTINGS: OpusSettings = {
  bitrate: 128_000,
  complexity: 10,
  // Mode 2 keeps CELT for music while adding FEC; mode 1 would force hybrid SILK+CELT on every
  // frame at this bitrate, at about three times the CPU and lower quality.
  fec: 2,
  packetLossPercent: 10,
  dtx: false,
  vbr: true,
};

export interface OpusPacket {
  data: Uint8Array;
  captureNs: bigint;
}

/** libopus (WebAssembly) behind whipcast's defaults, fed by a PCM re-framer. */
export class OpusStreamEncoder {
  readonly #reframer = new PcmReframer(OPUS_FRAME_SAMPLES, OPUS_CHANNELS, OPUS_SAMPLE_RATE);
  #frames = 0;

  private constructor(
    readonly encoder: OpusEncoderHandle,
    readonly version: string,
  ) {}

  static async create(settings: OpusSettings): Promise<OpusStreamEncoder> {
    const { version } = await loadLibopus();
    const encoder = await createEncoder({
      sampleRate: OPUS_SAMPLE_RATE,
      channels: OPUS_CHANNELS,
      application: Application.Audio,
      frameSize: OPUS_FRAME_SAMPLES,
      complexity: settings.complexity,
      vbr: settings.vbr,
      dtx: settings.dtx,
      bitrate: settings.bitrate,
    });
    encoder.encoderCtl(EncoderCtl.SetInBandFec, settings.fec);
    encoder.setPacketLossPercent(settings.packetLossPercent);
    return new OpusStreamEncoder(encoder, version);
  }

  setBitrate(bitrate: number): number {
    this.encoder.setBitrate(bitrate);
    return this.encoder.getBitrate();
  }

  /** Encode whatever whole frames the new PCM completes. */
  push(pcm: Uint8Array, captureNs: bigint): OpusPacket[] {
    const out: OpusPacket[] = [];
    for (const frame of this.#reframer.push(pcm, captureNs)) {
      out.push({ data: this.encoder.encode(frame.samples), captureNs: frame.captureNs });
      this.#frames++;
    }
    return out;
  }

  get frames(): number {
    return this.#frames;
  }

  free(): void {
    this.encoder.free();
  }
}
