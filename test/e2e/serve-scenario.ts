/**
 * End-to-end runs against `whipcast serve` (the compiled binary), meant to execute inside a
 * loopback-only network namespace. Each prints one JSON result line; serve.e2e.test.ts asserts.
 *
 *   bun test/e2e/serve-scenario.ts '{"name":"relay"}'
 */
import type { Subprocess } from "bun";
import { binary } from "../helpers/binary.ts";
import { type Browser, launchChromium } from "../helpers/chromium.ts";
import { openWhepViewer } from "../helpers/whep-viewer.ts";

const input = JSON.parse(process.argv[2] ?? "{}") as { name: string };
const cleanups: (() => unknown)[] = [];

/** Start `whipcast serve` on a free port; resolves with its origin once it listens. */
async function serve(args: string[] = []): Promise<{ origin: string; proc: Subprocess<"ignore", "pipe", "pipe">; stdout: Promise<string>; stderr: Promise<string> }> {
  const proc = Bun.spawn([binary(), "serve", "--port", "0", ...args], { stdin: "ignore", stdout: "pipe", stderr: "pipe" });
  cleanups.push(() => proc.kill("SIGKILL"));
  const [a, b] = proc.stderr.tee();
  const stderr = new Response(b).text();
  const reader = a.pipeThrough(new TextDecoderStream()).getReader();
  let text = "";
  for (;;) {
    const { done, value } = await reader.read();
    if (done) throw new Error(`serve exited before listening: ${text}`);
    text += value;
    const m = /serving on (http:\/\/[\d.]+:\d+)/.exec(text);
    if (m) {
      void (async () => {
        while (!(await reader.read()).done);
      })();
      return { origin: m[1]!, proc, stdout: new Response(proc.stdout).text(), stderr };
    }
  }
}

function publish(url: string, args: string[]): Subprocess<"ignore", "pipe", "pipe"> {
  const proc = Bun.spawn([binary(), "publish", url, "--source", "test", "--log", "json", ...args], { stdin: "ignore", stdout: "pipe", stderr: "pipe" });
  cleanups.push(() => proc.kill("SIGKILL"));
  return proc;
}

async function streams(origin: string): Promise<{ name: string; viewers: number }[]> {
  return (await fetch(`${origin}/api/streams`)).json() as Promise<{ name: string; viewers: number }[]>;
}

async function until<T>(what: string, probe: () => Promise<T | undefined>, timeoutMs = 15_000): Promise<T> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    const v = await probe().catch(() => undefined);
    if (v !== undefined) return v;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await Bun.sleep(100);
  }
}

const waitLive = (origin: string, name = "live") => until(`stream ${name}`, async () => ((await streams(origin)).some((s) => s.name === name) ? true : undefined));

/** The viewer count `/` shows for a stream, read from the rendered page as a person sees it. */
async function shownCount(page: import("playwright-core").Page, stream: string): Promise<string> {
  return (await page.locator(`li[data-stream="${stream}"] .viewers`).innerText()).trim();
}

async function relay(browser: Browser) {
  const server = await serve();
  const pub = publish(`${server.origin}/whip/live`, ["--size", "1280x720", "--fps", "30", "--duration", "16"]);
  await waitLive(server.origin);
  const viewers = await Promise.all([0, 1, 2].map(() => openWhepViewer(browser, server.origin)));
  const joins = await Promise.all(viewers.map((v) => v.join(`${server.origin}/whep/live`)));
  await until("first frames", async () => ((await Promise.all(viewers.map((v) => v.firstFrameAfterMs()))).every((t) => t !== undefined) ? true : undefined));
  const before = await Promise.all(viewers.map((v) => v.stats()));
  await Bun.sleep(8_000);
  const after = await Promise.all(viewers.map((v) => v.stats()));
  const index = await browser.page(`${server.origin}/`);
  const countWith3 = await until("count 3", async () => ((await shownCount(index, "live")) === "3 viewers" ? "3 viewers" : undefined), 5_000).catch(() => shownCount(index, "live"));
  const leaveStatus = await viewers[2]!.leave();
  const countWith2 = await until("count 2", async () => ((await shownCount(index, "live")) === "2 viewers" ? "2 viewers" : undefined), 5_000).catch(() => shownCount(index, "live"));
  await pub.exited;
  const pubLog = await new Response(pub.stderr).text();
  return {
    joins,
    decodedOver8s: after.map((a, i) => (a.video?.framesDecoded ?? 0) - (before[i]!.video?.framesDecoded ?? 0)),
    sizes: after.map((a) => `${a.video?.frameWidth}x${a.video?.frameHeight}`),
    audioLevels: after.map((a) => a.audio?.audioLevel ?? 0),
    audioSamples: after.map((a, i) => (a.audio?.totalSamplesReceived ?? 0) - (before[i]!.audio?.totalSamplesReceived ?? 0)),
    packetsLost: after.map((a) => a.video?.packetsLost ?? -1),
    countWith3,
    countWith2,
    leaveStatus,
    publisherExit: pub.exitCode,
    publisherErrors: pubLog.split("\n").filter((l) => l.includes('"error"')),
  };
}

const browser = await launchChromium();
cleanups.push(() => browser.close());
try {
  const scenarios: Record<string, (b: Browser) => Promise<unknown>> = { relay };
  const run = scenarios[input.name];
  if (!run) throw new Error(`no scenario ${input.name}`);
  const result = await run(browser);
  process.stdout.write(`${JSON.stringify(result)}\n`);
} finally {
  for (const c of cleanups.reverse()) await c();
}
process.exit(0);
