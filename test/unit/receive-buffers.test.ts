import { describe, expect, test } from "bun:test";
import { RTCPeerConnection } from "werift";
import { RECEIVE_BUFFER_BYTES, raiseReceiveBuffers } from "../../src/webrtc/receive-buffers.ts";

/** Against a real werift peer, so an upgrade that moves its sockets fails here. */
describe("raiseReceiveBuffers", () => {
  test("every UDP socket a gathered werift peer holds gets the larger receive buffer", async () => {
    const pc = new RTCPeerConnection({ iceServers: [], iceUseIpv6: false });
    try {
      pc.addTransceiver("video", { direction: "recvonly" });
      await pc.setLocalDescription(await pc.createOffer());
      type Socket = { getRecvBufferSize(): number };
      const sockets = pc.iceTransports.flatMap((t) => (t.connection as unknown as { protocols: { transport: { type: string; socket: Socket } }[] }).protocols.map((p) => p.transport.socket));
      expect(sockets.length).toBeGreaterThan(0);
      const before = sockets.map((s) => s.getRecvBufferSize());
      expect(raiseReceiveBuffers(pc)).toBe(sockets.length);
      // Linux doubles what is asked (for its own overhead) up to twice net.core.rmem_max.
      const max = Number((await Bun.file("/proc/sys/net/core/rmem_max").text()).trim());
      for (const [i, s] of sockets.entries()) {
        expect(s.getRecvBufferSize()).toBeGreaterThan(before[i]!);
        expect(s.getRecvBufferSize()).toBe(2 * Math.min(RECEIVE_BUFFER_BYTES, max));
      }
    } finally {
      await pc.close();
    }
  });
});
