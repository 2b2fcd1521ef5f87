import type { udp } from "bun";

/**
 * A STUN server on 127.0.0.1 that answers Binding requests (RFC 8489 §6.3) with the sender's
 * XOR-MAPPED-ADDRESS, and counts them: proof that a client used the server it was given.
 */
export interface StunServer {
  url: string;
  bindingRequests: number;
  close(): void;
}

const MAGIC = 0x2112a442;

export async function startStunServer(): Promise<StunServer> {
  const state = { bindingRequests: 0 };
  const socket: udp.Socket<"buffer"> = await Bun.udpSocket({
    hostname: "127.0.0.1",
    socket: {
      data(sock, buf, port, address) {
        if (buf.length < 20 || buf.readUInt16BE(0) !== 0x0001 || buf.readUInt32BE(4) !== MAGIC) return;
        state.bindingRequests++;
        const res = Buffer.alloc(32);
        res.writeUInt16BE(0x0101, 0); // Binding success response
        res.writeUInt16BE(12, 2);
        buf.copy(res, 4, 4, 20); // magic cookie + transaction id
        res.writeUInt16BE(0x0020, 20); // XOR-MAPPED-ADDRESS
        res.writeUInt16BE(8, 22);
        res.writeUInt8(0x01, 25); // IPv4
        res.writeUInt16BE(port ^ (MAGIC >>> 16), 26);
        const ip = address.split(".").reduce((acc, o) => (acc << 8) | Number(o), 0) >>> 0;
        res.writeUInt32BE((ip ^ MAGIC) >>> 0, 28);
        sock.send(res, port, address);
      },
    },
  });
  return {
    url: `stun:127.0.0.1:${socket.port}`,
    get bindingRequests() {
      return state.bindingRequests;
    },
    close: () => socket.close(),
  };
}
