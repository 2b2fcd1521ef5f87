import type { RTCPeerConnection } from "werift";

/**
 * The UDP sockets werift opens for a peer, made fit for media. Two things about them are wrong
 * for a media sender or relay, and neither is werift's to know:
 *
 * - The receive buffer. A keyframe reaches a receiver as one burst of a hundred or more
 *   datagrams (whipcast's publisher writes each frame in one sendmmsg). Linux's default UDP
 *   receive buffer (net.core.rmem_default, 208 KiB: about 90 full-size datagrams once the
 *   kernel's per-packet overhead is counted) overflows before werift's reader drains it, and
 *   then every keyframe needs NACK repair. Browsers raise theirs. The kernel caps what is asked
 *   at net.core.rmem_max.
 * - A stale ICMP error. Once anything on a socket has gone to a port that does not listen (an
 *   ICE check to a candidate that has gone away), the kernel answers the socket's *next* send
 *   (or receive) with that ICMP port-unreachable, as ECONNREFUSED, and a datagram so answered is
 *   not sent, whoever it was for. werift sends without a callback, so the loss was silent: one RTP packet to a
 *   healthy viewer, now and then, and audio has no NACK to repair it. The failed send has
 *   consumed the error, so sending the same datagram once more delivers it (a datagram may thus
 *   leave a few places late, which receivers reorder).
 */
export const RECEIVE_BUFFER_BYTES = 4 * 1024 * 1024;

type SendCallback = (error: Error | null, bytes?: number) => void;

/** The node:dgram socket API werift's UdpTransport uses. */
interface DgramSocket {
  send(...args: unknown[]): void;
  setRecvBufferSize?(bytes: number): void;
  on(event: "error", listener: (error: Error) => void): unknown;
}

/** The parts of werift's ICE Connection (0.25) that hold a peer's UDP sockets. */
interface ConnectionSockets {
  protocols?: { type?: string; close?(): Promise<void>; transport?: { type?: string; socket?: DgramSocket } }[];
}

/**
 * Take the peer's host UDP sockets (werift's "stun" protocols) out of its ICE connection, so the
 * next gather opens new ones on the interfaces as they are then (werift skips an address that
 * already has a socket). Returns the function that closes the old ones. TURN allocations stay.
 */
export function detachHostSockets(pc: RTCPeerConnection): () => Promise<void> {
  const stale: NonNullable<ConnectionSockets["protocols"]> = [];
  for (const transport of pc.iceTransports) {
    const connection = transport.connection as unknown as ConnectionSockets;
    if (!connection.protocols) continue;
    stale.push(...connection.protocols.filter((p) => p.type === "stun"));
    connection.protocols = connection.protocols.filter((p) => p.type !== "stun");
  }
  return async () => {
    await Promise.all(stale.map((p) => p.close?.().catch(() => {})));
  };
}

const tuned = new WeakSet<DgramSocket>();
/** Per socket: sends or receives the kernel answered with ICMP port unreachable (ECONNREFUSED). */
const refusals = new WeakMap<DgramSocket, { count: number }>();

/** How many of the peer's datagrams the kernel has reported unreachable so far (liveness reads it). */
export function unreachableCount(pc: RTCPeerConnection): number {
  let n = 0;
  for (const socket of udpSockets(pc)) n += refusals.get(socket)?.count ?? 0;
  return n;
}

/** Every UDP socket the peer has gathered so far (an ICE restart's gather opens new ones). */
function udpSockets(pc: RTCPeerConnection): DgramSocket[] {
  const sockets: DgramSocket[] = [];
  for (const transport of pc.iceTransports) {
    for (const protocol of (transport.connection as unknown as ConnectionSockets).protocols ?? []) {
      const socket = protocol.transport?.type === "udp" ? protocol.transport.socket : undefined;
      if (socket) sockets.push(socket);
    }
  }
  return sockets;
}

function refused(error: unknown): boolean {
  return (error as { code?: string } | null)?.code === "ECONNREFUSED";
}

/**
 * `send(data, port, address[, callback])` that sends once more when the kernel refused it for an
 * earlier datagram's ICMP error. Other call shapes (connected sockets, buffer lists with offsets)
 * pass through unchanged; whipcast's peers never connect their sockets.
 */
function resendAfterStaleIcmp(socket: DgramSocket, counter: { count: number }): void {
  const send = socket.send.bind(socket);
  socket.send = (...args: unknown[]) => {
    const [data, port, address, callback] = args;
    if (args.length > 4 || typeof port !== "number" || typeof address !== "string" || (callback !== undefined && typeof callback !== "function")) return send(...args);
    const done = callback as SendCallback | undefined;
    send(data, port, address, (error: Error | null, bytes?: number) => {
      if (refused(error)) {
        counter.count++;
        send(data, port, address, done ?? (() => {}));
      }
      else done?.(error, bytes);
    });
  };
}

/**
 * Tune every UDP socket the peer has gathered so far: the larger receive buffer, and sends and
 * receives that survive a stale ICMP error. Idempotent; call after each gather. Returns how many sockets were
 * newly tuned.
 */
export function tuneUdpSockets(pc: RTCPeerConnection, receiveBufferBytes = RECEIVE_BUFFER_BYTES): number {
  let count = 0;
  for (const socket of udpSockets(pc)) {
    if (tuned.has(socket)) continue;
    tuned.add(socket);
    count++;
    try {
      socket.setRecvBufferSize?.(receiveBufferBytes);
    } catch {
      // A limit the system refuses: that socket keeps its default buffer.
    }
    const counter = { count: 0 };
    refusals.set(socket, counter);
    resendAfterStaleIcmp(socket, counter);
    // The same ICMP report can instead surface on the receive side, as an "error" event; werift
    // listens for none, so it would end the process. It says nothing about the path ICE chose
    // (consent checks judge that), so it is dropped; any other socket error still ends the run.
    socket.on("error", (error) => {
      if (!refused(error)) throw error;
      counter.count++;
    });
  }
  return count;
}
