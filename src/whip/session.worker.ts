/// <reference lib="webworker" />
/**
 * The session Worker: a thin message loop over the SessionSupervisor, so signalling, SRTP and
 * RTCP never compete with the main thread's ffmpeg pipes and CLI.
 */
import { firstLine, toPayload } from "../errors.ts";
import type { OpusPacketMessage, SessionCommand, SessionEvent } from "../protocol.ts";
import { SessionSupervisor } from "./supervisor.ts";

declare const self: Worker;

let supervisor: SessionSupervisor | undefined;
const emit = (event: SessionEvent) => self.postMessage(event);

/** An exception nothing caught is a bug: reported as one line (exit 1), never lost. */
process.on("uncaughtException", (error) => emit({ type: "error", error: toPayload(error) }));
/**
 * werift does not await its async event subscribers, so their failures (a send on a socket a
 * lost session just closed) surface as unhandled rejections: worth a debug line, not the run.
 */
process.on("unhandledRejection", (reason) => emit({ type: "log", level: "debug", message: `ignored a rejected promise: ${firstLine(reason instanceof Error ? reason.message : String(reason))}` }));

self.onmessage = (e: MessageEvent<SessionCommand>) => {
  const cmd = e.data;
  switch (cmd.type) {
    case "start": {
      const s = new SessionSupervisor({ config: cmd.config, emit });
      supervisor = s;
      if (cmd.audioInput) {
        cmd.audioInput.onmessage = (m: MessageEvent<OpusPacketMessage>) => s.audio(new Uint8Array(m.data.data), m.data.captureNs);
      }
      s.start();
      break;
    }
    case "video":
      supervisor?.video(new Uint8Array(cmd.data), cmd.captureNs, cmd.keyframe, cmd.receivedNs);
      break;
    case "stop":
      if (supervisor) void supervisor.stop();
      else emit({ type: "stopped", deleted: false, sent: { videoFrames: 0, audioPackets: 0, retransmitted: 0 }, reconnects: 0 });
      break;
  }
};
