/// <reference lib="webworker" />
/**
 * The session Worker: a thin message loop over WhipSession, so signalling, SRTP and RTCP never
 * compete with the main thread's ffmpeg pipes and CLI.
 */
import { toPayload } from "../errors.ts";
import type { OpusPacketMessage, SessionCommand, SessionEvent } from "../protocol.ts";
import { WhipSession } from "./session.ts";

declare const self: Worker;

let session: WhipSession | undefined;
const emit = (event: SessionEvent) => self.postMessage(event);

self.onmessage = (e: MessageEvent<SessionCommand>) => {
  const cmd = e.data;
  switch (cmd.type) {
    case "start": {
      session = new WhipSession(cmd.config, emit);
      const s = session;
      if (cmd.audioInput) {
        cmd.audioInput.onmessage = (m: MessageEvent<OpusPacketMessage>) => s.audio(new Uint8Array(m.data.data), m.data.captureNs);
      }
      s.start().catch((error: unknown) => emit({ type: "error", error: toPayload(error) }));
      break;
    }
    case "video":
      session?.video(new Uint8Array(cmd.data), cmd.captureNs, cmd.keyframe, cmd.receivedNs);
      break;
    case "stop":
      if (session) void session.stop();
      else emit({ type: "stopped", deleted: false, sent: { videoFrames: 0, audioPackets: 0, retransmitted: 0 } });
      break;
  }
};
