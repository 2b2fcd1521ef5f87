import type { RTCPeerConnection } from "werift";

/**
 * A keyframe reaches a receiver as one burst of a hundred or more datagrams (whipcast's publisher
 * writes each frame in one sendmmsg). Linux's default UDP receive buffer (net.core.rmem_default,
 * 208 KiB: about 90 full-size datagrams once the kernel's per-packet overhead is counted)
 * overflows before werift's reader drains it, and then every keyframe needs NACK repair.
 * Browsers raise theirs; werift does not. The kernel caps what is asked at net.core.rmem_max.
 */
export const RECEIVE_BUFFER_BYTES = 4 * 1024 * 1024;

/** The parts of werift's ICE Connection (0.25) and node:dgram that hold a peer's UDP sockets. */
interface ConnectionSockets {
  protocols?: { transport?: { type?: string; socket?: { setRecvBufferSize?(bytes: number): void } } }[];
}

/**
 * Raise the receive buffer of every UDP socket the peer has gathered so far; call again after
 * a gather (an ICE restart opens new sockets). Returns how many sockets took it.
 */
export function raiseReceiveBuffers(pc: RTCPeerConnection, bytes = RECEIVE_BUFFER_BYTES): number {
  let raised = 0;
  for (const transport of pc.iceTransports) {
    for (const protocol of (transport.connection as unknown as ConnectionSockets).protocols ?? []) {
      const socket = protocol.transport?.type === "udp" ? protocol.transport.socket : undefined;
      if (!socket?.setRecvBufferSize) continue;
      try {
        socket.setRecvBufferSize(bytes);
        raised++;
      } catch {
        // A closed socket, or a limit the system refuses: that socket keeps its default.
      }
    }
  }
  return raised;
}
