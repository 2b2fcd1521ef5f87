import { createSocket } from "node:dgram";
import { lookup } from "node:dns/promises";
import { classes, Message, methods, parseMessage } from "werift";

/**
 * One STUN Binding request over UDP (RFC 8489 §6), with werift's STUN message codec: does UDP
 * reach the server, in how long, and which address does it see this machine at (XOR-MAPPED-
 * ADDRESS, §14.2). Retransmitted at 500 ms, 1 s, 2 s (§6.2.1, shortened) until `timeoutMs`.
 */
export type BindingResult = { ok: true; rttMs: number; mapped: { address: string; port: number } | undefined; server: string } | { ok: false; reason: string; server: string };

export async function stunBinding(host: string, port: number, timeoutMs = 3_000): Promise<BindingResult> {
  let address: string;
  try {
    address = (await lookup(host)).address;
  } catch (error) {
    return { ok: false, server: `${host}:${port}`, reason: `cannot resolve ${host}: ${(error as NodeJS.ErrnoException).code ?? String(error)}` };
  }
  const server = `${host}:${port}`;
  const socket = createSocket(address.includes(":") ? "udp6" : "udp4");
  const request = new Message(methods.BINDING, classes.REQUEST);
  const bytes = request.bytes;
  return new Promise<BindingResult>((resolve) => {
    const started = performance.now();
    const timers: ReturnType<typeof setTimeout>[] = [];
    const finish = (result: BindingResult) => {
      for (const t of timers) clearTimeout(t);
      socket.close();
      resolve(result);
    };
    socket.on("error", (error: NodeJS.ErrnoException) => finish({ ok: false, server, reason: `UDP error: ${error.code ?? error.message}` }));
    socket.on("message", (data) => {
      let message: Message | undefined;
      try {
        message = parseMessage(data);
      } catch {
        return;
      }
      if (!message || message.transactionIdHex !== request.transactionIdHex) return;
      const mapped = message.getAttributeValue("XOR-MAPPED-ADDRESS") as [string, number] | undefined;
      finish({ ok: true, server, rttMs: performance.now() - started, mapped: mapped ? { address: mapped[0], port: mapped[1] } : undefined });
    });
    for (const at of [0, 500, 1_500]) if (at < timeoutMs) timers.push(setTimeout(() => socket.send(bytes, port, address), at));
    timers.push(setTimeout(() => finish({ ok: false, server, reason: `no answer from ${server} (${address}) within ${timeoutMs / 1000} s` }), timeoutMs));
  });
}
