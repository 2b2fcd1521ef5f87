/// <reference lib="webworker" />
/**
 * The benchmark's yardstick for hand-off latency: a Worker that does nothing but note how long
 * each message from the main thread took to arrive. Run beside a publish, it shows what one
 * cross-thread hop costs on this machine under the same load (whipcast's video takes one).
 */
import { nowNs } from "../src/rtp/ntp.ts";

declare const self: Worker;
const latenciesMs: number[] = [];

self.onmessage = (e: MessageEvent<bigint | "report">) => {
  if (e.data === "report") self.postMessage(latenciesMs);
  else latenciesMs.push(Number(nowNs() - e.data) / 1e6);
};
