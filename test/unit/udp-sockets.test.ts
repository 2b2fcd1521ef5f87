import { afterEach, describe, expect, test } from "bun:test";
import dgram from "node:dgram";
import { RTCPeerConnection } from "werift";
import { RECEIVE_BUFFER_BYTES, tuneUdpSockets } from "../../src/rtc/udp-sockets.ts";

/** Against a real werift peer's sockets, so an upgrade that moves them fails here. */
type Socket = dgram.Socket;

const cleanups: (() => unknown)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

async function gatheredPeer(): Promise<{ pc: RTCPeerConnection; sockets: Socket[] }> {
  const pc = new RTCPeerConnection({ iceServers: [], iceUseIpv6: false });
  cleanups.push(() => pc.close());
  pc.addTransceiver("video", { direction: "recvonly" });
  await pc.setLocalDescription(await pc.createOffer());
  const sockets = pc.iceTransports.flatMap((t) => (t.connection as unknown as { protocols: { transport: { socket: Socket } }[] }).protocols.map((p) => p.transport.socket));
  return { pc, sockets };
}

async function bound(): Promise<Socket> {
  const s = dgram.createSocket("udp4");
  await new Promise<void>((r) => s.bind(0, "127.0.0.1", () => r()));
  cleanups.push(() => s.close());
  return s;
}

/** A port on 127.0.0.1 that nothing listens on: datagrams to it draw ICMP port unreachable. */
async function closedPort(): Promise<number> {
  const s = dgram.createSocket("udp4");
  await new Promise<void>((r) => s.bind(0, "127.0.0.1", () => r()));
  const { port } = s.address();
  await new Promise<void>((r) => s.close(() => r()));
  return port;
}

/** Keep the event loop busy (as a relay fanning out a frame does), so it cannot read the socket's pending error. */
function busy(ms: number): void {
  const end = performance.now() + ms;
  while (performance.now() < end);
}

/** What werift's UdpTransport does: a datagram to a dead port, then, before the loop turns, one to a live peer; no callbacks. */
async function deliveredAfterStaleIcmp(socket: Socket, rounds: number): Promise<number> {
  const receiver = await bound();
  let got = 0;
  receiver.on("message", () => got++);
  const dead = await closedPort();
  for (let i = 0; i < rounds; i++) {
    socket.send(Buffer.from("check"), dead, "127.0.0.1");
    busy(2); // the ICMP error arrives and waits on the socket
    socket.send(Buffer.from(`media ${i}`), receiver.address().port, "127.0.0.1");
    await Bun.sleep(1);
  }
  await Bun.sleep(50);
  return got;
}

describe("tuneUdpSockets", () => {
  test("every UDP socket of a gathered werift peer gets the larger receive buffer, once", async () => {
    const { pc, sockets } = await gatheredPeer();
    expect(sockets.length).toBeGreaterThan(0);
    const before = sockets.map((s) => s.getRecvBufferSize());
    expect(tuneUdpSockets(pc)).toBe(sockets.length);
    expect(tuneUdpSockets(pc)).toBe(0);
    // Linux doubles what is asked (for its own overhead), up to twice net.core.rmem_max.
    const max = Number((await Bun.file("/proc/sys/net/core/rmem_max").text()).trim());
    for (const [i, s] of sockets.entries()) {
      expect(s.getRecvBufferSize()).toBeGreaterThan(before[i]!);
      expect(s.getRecvBufferSize()).toBe(2 * Math.min(RECEIVE_BUFFER_BYTES, max));
    }
  });

  test("without tuning, a stale ICMP error from a dead port swallows the next datagram to a live one", async () => {
    const plain = await bound();
    expect(await deliveredAfterStaleIcmp(plain, 20)).toBe(0);
  });

  test("a tuned werift socket delivers every datagram despite stale ICMP errors", async () => {
    const { pc, sockets } = await gatheredPeer();
    tuneUdpSockets(pc);
    expect(await deliveredAfterStaleIcmp(sockets[0]!, 20)).toBe(20);
  });

  test("a caller's callback hears the outcome once: the resend's, after a stale ICMP error", async () => {
    const { pc, sockets } = await gatheredPeer();
    tuneUdpSockets(pc);
    const receiver = await bound();
    let got = 0;
    receiver.on("message", () => got++);
    const dead = await closedPort();
    const outcomes: (Error | null)[] = [];
    sockets[0]!.send(Buffer.from("check"), dead, "127.0.0.1");
    busy(2);
    sockets[0]!.send(Buffer.from("media"), receiver.address().port, "127.0.0.1", (e) => outcomes.push(e));
    await Bun.sleep(50);
    expect({ outcomes, got }).toEqual({ outcomes: [null], got: 1 });
  });

  test("an ICMP report surfacing as a socket error event is dropped; any other error still throws", async () => {
    const { pc, sockets } = await gatheredPeer();
    tuneUdpSockets(pc);
    const socket = sockets[0]!;
    const icmp = Object.assign(new Error("recvmsg ECONNREFUSED"), { code: "ECONNREFUSED", syscall: "recvmsg" });
    expect(() => socket.emit("error", icmp)).not.toThrow();
    const other = Object.assign(new Error("recvmsg EBADF"), { code: "EBADF" });
    expect(() => socket.emit("error", other)).toThrow("EBADF");
  });
});
