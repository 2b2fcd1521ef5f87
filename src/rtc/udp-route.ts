/**
 * Where SRTP goes once ICE has chosen: the nominated pair's local UDP socket and remote address.
 *
 * werift sends each datagram through four async layers down to node:dgram, whose send resolves
 * the address asynchronously and so writes one `sendmmsg` per packet only after the microtask
 * queue drains. For a video frame (~10 packets) that is ten system calls, each a little later
 * than the last. Bun's own UDP socket (node:dgram's handle) has `sendMany`: every packet of the
 * frame in one `sendmmsg`, written before it returns.
 *
 * A route exists only for the plain case: a nominated pair over UDP (not TURN, whose relay
 * framing werift adds; not TCP), with ICE consent fresh (RFC 7675 §5.1: no media without it)
 * and no datagrams queued behind back-pressure, which must leave first. Otherwise werift's path
 * is used, and it is also the fallback for anything the socket does not take at once.
 */

/** The parts of werift's ICE Connection (0.25) and Bun's node:dgram that a route reads. */
export interface IceConnectionInternals {
  nominated?: {
    remoteAddr: [string, number];
    packetsSent: number;
    bytesSent: number;
    protocol: { type: string; transport?: { type: string; closed: boolean; socket?: object } };
  };
  canSendApplicationData(): boolean;
  send(data: Buffer): Promise<void>;
}

interface NativeUdpSocket {
  sendMany(packets: readonly (Buffer | string | number)[]): number;
}

interface DgramHandle {
  socket?: NativeUdpSocket;
  sendQueue?: unknown;
}

const STATE = "state symbol";
/** Each socket's state key, found once rather than per frame. */
const stateKeys = new WeakMap<object, symbol | undefined>();

/** node:dgram keeps its Bun socket in `socket[Symbol(state symbol)].handle.socket`. */
function dgramHandle(socket: object): DgramHandle | undefined {
  if (!stateKeys.has(socket)) stateKeys.set(socket, Object.getOwnPropertySymbols(socket).find((s) => s.description === STATE));
  const key = stateKeys.get(socket);
  const state = key === undefined ? undefined : (socket as Record<symbol, { handle?: DgramHandle } | undefined>)[key];
  return state?.handle;
}

export class UdpRoute {
  constructor(readonly connection: IceConnectionInternals) {}

  /**
   * Send datagrams in order: all at once on the nominated UDP pair where possible, else (or for
   * what the socket did not take) through werift's ICE send, which queues under back-pressure.
   */
  send(datagrams: Buffer[]): void {
    const c = this.connection;
    if (!c.canSendApplicationData()) return; // werift would drop them too (RFC 7675)
    const pair = c.nominated!;
    const sent = this.#sendMany(pair, datagrams);
    for (let i = sent; i < datagrams.length; i++) void c.send(datagrams[i]!);
  }

  /** How many of `datagrams` the native socket took (a prefix), or 0 when there is no route. */
  #sendMany(pair: NonNullable<IceConnectionInternals["nominated"]>, datagrams: Buffer[]): number {
    const transport = pair.protocol.transport;
    if (pair.protocol.type !== "stun" || transport?.type !== "udp" || transport.closed || !transport.socket) return 0;
    const handle = dgramHandle(transport.socket);
    if (!handle?.socket || handle.sendQueue !== undefined) return 0;
    const [address, port] = pair.remoteAddr;
    const packets: (Buffer | string | number)[] = [];
    for (const d of datagrams) packets.push(d, port, address);
    let sent: number;
    try {
      sent = handle.socket.sendMany(packets);
    } catch {
      return 0;
    }
    for (let i = 0; i < sent; i++) {
      pair.packetsSent++;
      pair.bytesSent += datagrams[i]!.length;
    }
    return sent;
  }
}
