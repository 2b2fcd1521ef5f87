/**
 * Staying live, measured (part of `bun run bench`; run inside the bench's loopback namespace):
 *
 * - recovery: `serve` killed and started again on the same port, several times; from the moment
 *   it listens again to the first frame a Chromium viewer decodes. Beside it, the same figure for
 *   a fresh `whipcast publish` started at that moment (the best a publisher without reconnect
 *   gives, if someone restarts it by hand at once).
 * - soak: one publish at 720p30 for SOAK_SECONDS (600), then SOAK_RECONNECTS (100) server
 *   restarts; the publisher's RSS, open file descriptors, Worker threads and child processes at
 *   the start, after the steady run and at the end.
 */
import { readdirSync, readFileSync } from "node:fs";
import type { Subprocess } from "bun";
import { binary } from "../test/helpers/binary.ts";
import { until as waitFor } from "../test/helpers/until.ts";
import { type Browser, launchChromium } from "../test/helpers/chromium.ts";
import { openWhepViewer } from "../test/helpers/whep-viewer.ts";

type Row = (name: string, value: string, comparison: string) => void;

const PORT = 18_090;
const ORIGIN = `http://127.0.0.1:${PORT}`;


async function serve(): Promise<{ proc: Subprocess<"ignore", "ignore", "pipe">; listeningAt: number }> {
  const proc = Bun.spawn([binary(), "serve", "--port", String(PORT)], { stdin: "ignore", stdout: "ignore", stderr: "pipe" });
  const reader = proc.stderr.pipeThrough(new TextDecoderStream()).getReader();
  let text = "";
  while (!text.includes("serving on")) {
    const { done, value } = await reader.read();
    if (done) throw new Error(`serve exited: ${text}`);
    text += value;
  }
  const listeningAt = performance.now();
  void (async () => {
    while (!(await reader.read()).done);
  })();
  return { proc, listeningAt };
}

function publish(extra: string[] = []): Subprocess {
  return Bun.spawn([binary(), "publish", `${ORIGIN}/whip/live`, "--source", "test", "--size", "1280x720", "--fps", "30", "--encoder", "x264", "--quiet", ...extra], { stdout: "ignore", stderr: "ignore" });
}

/** `probe`'s value within `timeoutMs`, or undefined: a benchmark reports a miss rather than failing. */
const until = <T>(probe: () => Promise<T | undefined>, timeoutMs: number) => waitFor("", probe, timeoutMs, 25).catch(() => undefined);

const isLive = async () => ((await (await fetch(`${ORIGIN}/api/streams`)).json()) as { name: string }[]).some((s) => s.name === "live") || undefined;

/** ms from `since` to the first frame a viewer that joins as soon as the stream is listed decodes. */
async function firstFrameAfter(browser: Browser, since: number): Promise<number | undefined> {
  if (!(await until(isLive, 30_000))) return undefined;
  const viewer = await openWhepViewer(browser, ORIGIN);
  try {
    const postAt = performance.now();
    if ((await viewer.join(`${ORIGIN}/whep/live`)).status !== 201) return undefined;
    const ms = await until(() => viewer.firstFrameAfterMs(), 10_000);
    return ms === undefined ? undefined : postAt + ms - since;
  } finally {
    await viewer.page.close();
  }
}

const stats = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length === 0 ? "n/a" : `p50 ${(s[Math.floor(s.length / 2)]! / 1000).toFixed(2)} s, max ${(s[s.length - 1]! / 1000).toFixed(2)} s (${s.length} restarts)`;
};

export async function recoveryBench(row: Row, restarts = Number(process.env.BENCH_RESTARTS ?? 5)): Promise<void> {
  const browser = await launchChromium();
  let server = await serve();
  const kept = publish();
  const reconnecting: number[] = [];
  const fresh: number[] = [];
  try {
    await until(isLive, 15_000);
    for (let i = 0; i < restarts; i++) {
      // whipcast publish, reconnecting by itself.
      await Bun.sleep(3_000);
      server.proc.kill("SIGKILL");
      await server.proc.exited;
      await Bun.sleep(2_000);
      server = await serve();
      const a = await firstFrameAfter(browser, server.listeningAt);
      if (a !== undefined) reconnecting.push(a);
    }
    kept.kill("SIGTERM");
    await kept.exited;
    // The comparison: a publisher that does not reconnect, started afresh the moment the server is back.
    for (let i = 0; i < restarts; i++) {
      server.proc.kill("SIGKILL");
      await server.proc.exited;
      await Bun.sleep(1_000);
      server = await serve();
      const started = publish(["--no-reconnect"]);
      const b = await firstFrameAfter(browser, server.listeningAt);
      if (b !== undefined) fresh.push(b);
      started.kill("SIGTERM");
      await started.exited;
    }
  } finally {
    kept.kill("SIGKILL");
    server.proc.kill("SIGKILL");
    await browser.close();
  }
  row("server back → first frame at a new viewer, whipcast publish reconnecting by itself", stats(reconnecting), `a fresh whipcast publish started as the server is back: ${stats(fresh)}`);
}

interface Footprint {
  rssMiB: number;
  fds: number;
  workers: number;
  threads: number;
  children: number;
}

function footprint(pid: number): Footprint {
  const rss = Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, "utf8"))?.[1] ?? 0) / 1024;
  const tasks = readdirSync(`/proc/${pid}/task`);
  const names = tasks.map((t) => {
    try {
      return readFileSync(`/proc/${pid}/task/${t}/comm`, "utf8").trim();
    } catch {
      return "";
    }
  });
  let children = 0;
  for (const t of tasks) {
    try {
      const text = readFileSync(`/proc/${pid}/task/${t}/children`, "utf8").trim();
      if (text) children += text.split(/\s+/).length;
    } catch {
      // the thread ended between listing and reading
    }
  }
  return { rssMiB: Math.round(rss), fds: readdirSync(`/proc/${pid}/fd`).length, workers: names.filter((n) => n === "Worker").length, threads: tasks.length, children };
}

const show = (f: Footprint) => `RSS ${f.rssMiB} MiB, ${f.fds} fds, ${f.workers} Workers, ${f.threads} threads, ${f.children} child processes`;

export async function soakBench(row: Row, seconds = Number(process.env.SOAK_SECONDS ?? 600), reconnects = Number(process.env.SOAK_RECONNECTS ?? 100)): Promise<void> {
  let server = await serve();
  const pub = publish();
  try {
    await until(isLive, 15_000);
    await Bun.sleep(5_000);
    const start = footprint(pub.pid);
    await Bun.sleep(seconds * 1000);
    const steady = footprint(pub.pid);
    let back = 0;
    const t0 = performance.now();
    for (let i = 0; i < reconnects; i++) {
      server.proc.kill("SIGKILL");
      await server.proc.exited;
      await Bun.sleep(300);
      server = await serve();
      if (await until(isLive, 20_000)) back++;
    }
    const flapSeconds = (performance.now() - t0) / 1000;
    // Let the last session settle before the end figures.
    await Bun.sleep(5_000);
    const end = footprint(pub.pid);
    row(`soak: ${seconds} s at 720p30, publisher footprint`, `start: ${show(start)}`, `after ${seconds} s: ${show(steady)}`);
    row(`soak: then ${reconnects} server restarts (${back} live again, ${flapSeconds.toFixed(0)} s)`, `end: ${show(end)}`, `before the restarts: ${show(steady)}`);
  } finally {
    pub.kill("SIGKILL");
    server.proc.kill("SIGKILL");
  }
}
