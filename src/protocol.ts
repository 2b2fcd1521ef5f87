/**
 * Every message that crosses a Worker boundary, in one place.
 *
 *   main ──pcm──▶ Opus worker ──opus (MessagePort)──▶ session worker ◀──video── main
 *                                                      │
 *                                             events ──┘──▶ main
 *
 * Media buffers are always transferred, never copied. Timestamps are capture-clock
 * nanoseconds (Unix epoch, see src/rtp/ntp.ts) as bigint.
 */
import type { ErrorPayload } from "./errors.ts";
import type { IceServer } from "./whip/link-header.ts";

/** The buffer to transfer for `view`: its own when the view spans all of it, else a copy. */
export function transferable(view: Uint8Array): ArrayBuffer {
  const whole = view.byteOffset === 0 && view.byteLength === view.buffer.byteLength && view.buffer instanceof ArrayBuffer;
  return whole ? (view.buffer as ArrayBuffer) : (view.slice().buffer as ArrayBuffer);
}

// ── Opus worker ──────────────────────────────────────────────────────────────────────────────
export interface OpusSettings {
  bitrate: number;
  complexity: number;
  /** OPUS_SET_INBAND_FEC: 0 off, 1 on, 2 on without forcing SILK (libopus ≥ 1.5). */
  fec: 0 | 1 | 2;
  packetLossPercent: number;
  dtx: boolean;
  vbr: boolean;
}

export type OpusCommand =
  | { type: "init"; settings: OpusSettings; output: MessagePort }
  | { type: "pcm"; data: ArrayBuffer; captureNs: bigint }
  | { type: "bitrate"; bitrate: number }
  | { type: "close" };

export type OpusEvent =
  | { type: "ready"; version: string }
  | { type: "bitrate"; bitrate: number }
  | { type: "error"; error: ErrorPayload }
  | { type: "closed"; frames: number; cpuMs: number };

/** What the Opus worker writes to its output port: one 20 ms packet. */
export interface OpusPacketMessage {
  type: "audio";
  data: ArrayBuffer;
  captureNs: bigint;
}

// ── Session worker ───────────────────────────────────────────────────────────────────────────
export interface SessionConfig {
  endpoint: string;
  token?: string;
  video: boolean;
  audio: boolean;
  /** The video ceiling, bits per second. */
  videoBitrate: number;
  /** Where the encoder starts (the estimate starts there too). */
  startVideoBitrate: number;
  audioBitrate: number;
  /** Follow the path's capacity (false: a fixed rate). */
  adapt: boolean;
  minVideoBitrate: number;
  iceServers: IceServer[];
  timeoutMs: number;
  /**
   * Send what was captured while connecting (a file: from its first frame). Off (live sources):
   * drop it and start with the fresh IDR made at connect.
   */
  sendHeldMedia: boolean;
  /** Gather 127.0.0.1 as a host candidate (loopback-only hosts, network namespaces). */
  loopbackCandidates: boolean;
  /** Replace a lost session with a new one (--no-reconnect: end the run instead, exit 6). */
  reconnect: boolean;
  /** Give up reconnecting after this long (--reconnect-timeout); undefined: never. */
  reconnectTimeoutMs?: number;
  /** Where the wrapping counters start (tests of long runs start them just below their wrap). */
  counterStart?: CounterStart;
}

/** Starting values of the counters that wrap: RTCP SR packet/octet counts (u32), transport-wide and RTP sequence numbers (u16). */
export interface CounterStart {
  packets: number;
  octets: number;
  transportSequence: number;
  rtpSequence?: number;
}

export type SessionCommand =
  | { type: "start"; config: SessionConfig; audioInput: MessagePort | null }
  | { type: "video"; data: ArrayBuffer; captureNs: bigint; keyframe: boolean; receivedNs: bigint }
  | { type: "stop" };

export type SessionState = "signalling" | "connecting" | "connected" | "reconnecting" | "stopping" | "stopped";

/** On a reconnect's states: which attempt, and how long since the session was lost. */
export interface ReconnectInfo {
  attempt: number;
  afterMs: number;
}

export type SessionEvent =
  | { type: "state"; state: SessionState; detail?: string; reconnect?: ReconnectInfo }
  /** The bandwidth estimate moved (bits per second on the wire, all streams). */
  | { type: "target"; bps: number; reason: string }
  /** The endpoint asked for a keyframe (PLI, FIR), or stale video was dropped from the queue. */
  | { type: "keyframe-request"; cause: "PLI" | "FIR" | "queue stale" }
  | { type: "stats"; stats: TransportStats }
  | { type: "log"; level: "debug" | "info" | "warn"; message: string }
  | { type: "error"; error: ErrorPayload }
  | { type: "stopped"; deleted: boolean; detail?: string; sent: SentSummary; reconnects: number };

/** One second of the session's sending, for the live status line and stats events. */
export interface TransportStats {
  videoBps: number;
  audioBps: number;
  /** Retransmissions and probe padding. */
  repairBps: number;
  targetBps?: number;
  rttMs?: number;
  /** Loss the receiver reported (TWCC or receiver reports), 0–100. */
  lossPercent?: number;
  nacks: number;
  retransmitted: number;
  pli: number;
  fir: number;
  /** How long the oldest queued video packet has waited in the pacer. */
  queueMs: number;
}

/** What reached the wire, reported when a session stops. */
export interface SentSummary {
  videoFrames: number;
  audioPackets: number;
  retransmitted: number;
  /** Per-frame hand-off latency, the encoder's last byte → last RTP packet sent (see SendLatency). */
  latencyP50Ms?: number;
  latencyP99Ms?: number;
  /** Per-frame time in the pacer. */
  pacingP50Ms?: number;
  pacingP99Ms?: number;
}

// ── Server worker ────────────────────────────────────────────────────────────────────────────
export interface ServerConfig {
  host: string;
  /** 0 picks a free port. */
  port: number;
  /** Also try this port first and fall back to a free one if it is taken (embedded default). */
  preferPort?: number;
  token: string | undefined;
  viewerToken: string | undefined;
  maxViewers: number;
  iceServers: IceServer[];
}

export type ServerCommand = { type: "start"; config: ServerConfig } | { type: "stop" };

export type ServerEvent =
  | { type: "listening"; origin: string }
  | { type: "log"; level: "debug" | "info" | "warn"; message: string }
  | { type: "error"; error: ErrorPayload }
  | { type: "stopped" };
