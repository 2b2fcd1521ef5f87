/// <reference lib="webworker" />
/**
 * The server Worker: a thin message loop over startServer, so the relay's SRTP and RTCP never
 * compete with a publisher's ffmpeg pipes when `whipcast publish` runs its embedded server.
 */
import { toPayload } from "../errors.ts";
import type { ServerCommand, ServerEvent } from "../protocol.ts";
import { type RunningServer, startServer } from "./server.ts";

declare const self: Worker;

let server: RunningServer | undefined;
const emit = (event: ServerEvent) => self.postMessage(event);

self.onmessage = (e: MessageEvent<ServerCommand>) => {
  const cmd = e.data;
  switch (cmd.type) {
    case "start":
      try {
        server = startServer(cmd.config, (level, message) => emit({ type: "log", level, message }));
        emit({ type: "listening", origin: server.origin });
      } catch (error) {
        emit({ type: "error", error: toPayload(error) });
      }
      break;
    case "stop":
      void (server?.close() ?? Promise.resolve()).finally(() => emit({ type: "stopped" }));
      break;
  }
};
