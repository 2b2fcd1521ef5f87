import { networkInterfaces } from "node:os";

/**
 * Notices when this machine's addresses change (Wi-Fi to Ethernet, a new address after sleep, a
 * VPN coming up), so a live session restarts ICE at once instead of waiting for its path to be
 * judged dead. werift never watches interfaces (shared notes, werift-sender-facts). Polled: Bun
 * has no interface-change event. Loopback and link-local addresses are ignored, as ICE gathers
 * neither by default.
 */
export type InterfaceTable = ReturnType<typeof networkInterfaces>;

/** The addresses ICE would gather on, sorted: what a change is judged by. Pure. */
export function gatherableAddresses(table: InterfaceTable): string[] {
  const out: string[] = [];
  for (const infos of Object.values(table)) {
    for (const info of infos ?? []) {
      if (info.internal) continue;
      if (info.family === "IPv6" && /^fe80:/i.test(info.address)) continue;
      out.push(info.address);
    }
  }
  return [...new Set(out)].sort();
}

/** What changed between two address lists, as "+added -removed"; undefined when nothing did. Pure. */
export function describeChange(before: string[], after: string[]): string | undefined {
  const added = after.filter((a) => !before.includes(a));
  const removed = before.filter((a) => !after.includes(a));
  if (added.length === 0 && removed.length === 0) return undefined;
  return [...added.map((a) => `+${a}`), ...removed.map((a) => `-${a}`)].join(" ");
}

export const NETWORK_POLL_MS = 1_000;

export class NetworkWatch {
  #addresses: string[];
  #timer: ReturnType<typeof setInterval> | undefined;

  constructor(
    readonly onChange: (change: string) => void,
    readonly read: () => InterfaceTable = networkInterfaces,
    readonly intervalMs = NETWORK_POLL_MS,
  ) {
    this.#addresses = gatherableAddresses(read());
  }

  start(): void {
    this.#timer ??= setInterval(() => this.check(), this.intervalMs);
  }

  /** Compare now (the timer calls this; tests may too). */
  check(): void {
    const now = gatherableAddresses(this.read());
    const change = describeChange(this.#addresses, now);
    this.#addresses = now;
    if (change) this.onChange(change);
  }

  stop(): void {
    clearInterval(this.#timer);
    this.#timer = undefined;
  }
}
