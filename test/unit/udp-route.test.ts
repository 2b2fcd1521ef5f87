import { afterEach, describe, expect, test } from "bun:test";
import dgram from "node:dgram";
import { type IceConnectionInternals, UdpRoute } from "../../src/rtc/udp-route.ts";

const sockets: dgram.Socket[] = [];
afterEach(() => {
  for (const s of sockets.splice(0)) s.close();
});

async function bound(): Promise<dgram.Socket> {
  const s = dgram.createSocket("udp4");
  sockets.push(s);
  await new Promise<void>((resolve) => s.bind(0, "127.0.0.1", resolve));
  return s;
}

/** A real local UDP socket as werift's nominated pair would hold it, and a receiver for what it sends. */
async function setUp(protocolType = "stun", transportType = "udp") {
  const local = await bound();
  const remote = await bound();
  const received: string[] = [];
  remote.on("message", (m) => received.push(m.toString()));
  const viaIce: string[] = [];
  const connection: IceConnectionInternals = {
    nominated: {
      remoteAddr: ["127.0.0.1", remote.address().port],
      packetsSent: 0,
      bytesSent: 0,
      protocol: { type: protocolType, transport: { type: transportType, closed: false, socket: local } },
    },
    canSendApplicationData: () => true,
    send: async (d) => {
      viaIce.push(d.toString());
      local.send(d, remote.address().port, "127.0.0.1");
    },
  };
  const handle = () => {
    const key = Object.getOwnPropertySymbols(local).find((s) => s.description === "state symbol")!;
    return (local as unknown as Record<symbol, { handle: { socket: { sendMany(p: unknown[]): number; send(d: Buffer, port: number, address: string): boolean }; sendQueue?: unknown } }>)[key]!.handle;
  };
  const arrived = async (n: number) => {
    for (let i = 0; i < 200 && received.length < n; i++) await Bun.sleep(5);
    return received;
  };
  return { connection, received, viaIce, arrived, handle };
}

const datagrams = (n: number) => Array.from({ length: n }, (_, i) => Buffer.from(`packet ${i}`));
const texts = (n: number) => datagrams(n).map(String);

describe("UdpRoute: a frame's datagrams in one write on the nominated UDP pair", () => {
  test("Bun's socket takes them all at once, in order, before send returns; the pair's counts follow", async () => {
    const x = await setUp();
    new UdpRoute(x.connection).send(datagrams(12));
    expect(x.connection.nominated!.packetsSent).toBe(12); // counted as taken, synchronously
    expect(x.connection.nominated!.bytesSent).toBe(datagrams(12).reduce((n, d) => n + d.length, 0));
    expect(x.viaIce).toEqual([]);
    expect(await x.arrived(12)).toEqual(texts(12));
  });

  test("nothing at all without fresh ICE consent (RFC 7675), as werift would", async () => {
    const x = await setUp();
    x.connection.canSendApplicationData = () => false;
    new UdpRoute(x.connection).send(datagrams(3));
    await Bun.sleep(50);
    expect([x.received, x.viaIce, x.connection.nominated!.packetsSent]).toEqual([[], [], 0]);
  });

  const fallbacks: [string, (x: Awaited<ReturnType<typeof setUp>>) => void, string?, string?][] = [
    ["a TURN pair (werift adds the relay framing)", () => {}, "turn"],
    ["a TCP pair", () => {}, "stun", "tcp"],
    ["a closed transport", (x) => void (x.connection.nominated!.protocol.transport!.closed = true)],
    ["datagrams already queued under back-pressure", (x) => void (x.handle().sendQueue = [])],
  ];
  for (const [name, tweak, protocol, transport] of fallbacks) {
    test(`werift's ICE send, in order, with ${name}`, async () => {
      const x = await setUp(protocol, transport);
      tweak(x);
      new UdpRoute(x.connection).send(datagrams(4));
      expect(x.viaIce).toEqual(texts(4));
      x.handle().sendQueue = undefined;
      expect(await x.arrived(4)).toEqual(texts(4));
    });
  }

  test("what the socket does not take goes on through werift's ICE send, after the rest", async () => {
    const x = await setUp();
    const native = x.handle().socket;
    const real = native.sendMany.bind(native);
    native.sendMany = (packets: unknown[]) => real(packets.slice(0, 2 * 3)); // takes two, as under a full buffer
    new UdpRoute(x.connection).send(datagrams(5));
    expect(x.connection.nominated!.packetsSent).toBe(2);
    expect(x.viaIce).toEqual(texts(5).slice(2));
    expect(await x.arrived(5)).toEqual(texts(5));
  });

  test("a stale ICMP error on the socket: Bun's write throws, and the whole frame goes through werift's ICE send", async () => {
    const x = await setUp();
    const dead = await bound();
    const deadPort = dead.address().port;
    dead.close();
    sockets.splice(sockets.indexOf(dead), 1);
    // A datagram to a port nobody listens on, written at once: its ICMP error now waits on the socket.
    x.handle().socket.send(Buffer.from("check"), deadPort, "127.0.0.1");
    new UdpRoute(x.connection).send(datagrams(4));
    expect(x.connection.nominated!.packetsSent).toBe(0);
    expect(x.viaIce).toEqual(texts(4));
    expect(await x.arrived(4)).toEqual(texts(4));
  });
});
