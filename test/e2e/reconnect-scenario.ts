/**
 * Faults against a running publish (the compiled binary) and `whipcast serve`, inside a
 * loopback-only network namespace: the server killed and restarted, all UDP blackholed, an
 * endpoint that refuses while the publisher reconnects, a flood of WHEP offers that never
 * connect. Real Chromium WHEP viewers judge the result. Prints one JSON line; reconnect.e2e.test.ts asserts.
 *
 *   bun test/e2e/reconnect-scenario.ts '{"name":"serverRestart"}'
 */
import type { Subprocess } from "bun";
import { binary } from "../helpers/binary.ts";
import { until } from "../helpers/until.ts";
import { type Browser, launchChromium } from "../helpers/chromium.ts";
import { openWhepViewer, type WhepViewer } from "../helpers/whep-viewer.ts";

const input = JSON.parse(process.argv[2] ?? "{}") as { name: string; seconds?: number; refusal?: "401" | "503" | "404"; flag?: "--no-reconnect" | "--reconnect-timeout" };
const cleanups: (() => unknown)[] = [];
const PORT = 18_080;
const ORIGIN = `http://127.0.0.1:${PORT}`;

type Proc = Subprocess<"ignore", "pipe", "pipe">;

/** A process whose stderr lines are collected, each with the time it arrived. */
function spawn(args: string[]): { proc: Proc; lines: { at: number; text: string }[] } {
  const proc = Bun.spawn([binary(), ...args], { stdin: "ignore", stdout: "pipe", stderr: "pipe" });
  cleanups.push(() => proc.kill("SIGKILL"));
  const lines: { at: number; text: string }[] = [];
  void (async () => {
    const reader = proc.stderr.pipeThrough(new TextDecoderStream()).getReader();
    let buffered = "";
    for (let c = await reader.read(); !c.done; c = await reader.read()) {
      buffered += c.value;
      const parts = buffered.split("\n");
      buffered = parts.pop() ?? "";
      for (const text of parts) lines.push({ at: performance.now(), text });
    }
  })();
  void new Response(proc.stdout).text();
  return { proc, lines };
}

async function serve(): Promise<ReturnType<typeof spawn>> {
  const s = spawn(["serve", "--port", String(PORT)]);
  await until("serve listening", async () => (s.lines.some((l) => l.text.includes("serving on")) ? true : undefined), 10_000);
  return s;
}

function publish(url: string, extra: string[] = []): ReturnType<typeof spawn> {
  return spawn(["publish", url, "--source", "test", "--size", "640x360", "--fps", "30", "--log", "json", ...extra]);
}


const live = (origin = ORIGIN) => until("stream live", async () => ((await (await fetch(`${origin}/api/streams`)).json()) as { name: string }[]).some((s) => s.name === "live") || undefined, 60_000);
const messages = (lines: { text: string }[]) => lines.map((l) => { try { return (JSON.parse(l.text) as { msg: string }).msg; } catch { return l.text; } });

/** A Chromium viewer that joins now; resolves with ms to its first frame and frames decoded over `overMs` after it. */
async function watch(browser: Browser, overMs = 5_000): Promise<{ join: number; joinedAt: number; firstFrameMs: number | undefined; decoded: number; viewer: WhepViewer }> {
  const viewer = await openWhepViewer(browser, ORIGIN);
  const joinedAt = performance.now();
  const join = (await viewer.join(`${ORIGIN}/whep/live`)).status;
  const firstFrameMs = await until("first frame", () => viewer.firstFrameAfterMs(), 10_000).catch(() => undefined);
  const before = (await viewer.stats()).video?.framesDecoded ?? 0;
  await Bun.sleep(overMs);
  const decoded = ((await viewer.stats()).video?.framesDecoded ?? 0) - before;
  return { join, joinedAt, firstFrameMs, decoded, viewer };
}

/** The /watch page as a person leaves it open: its status and how many frames its video has shown. */
async function watchPage(browser: Browser) {
  const page = await browser.page(`${ORIGIN}/watch/live`);
  const read = () => page.evaluate(() => {
    const v = document.querySelector("video") as HTMLVideoElement;
    return { state: v.dataset.state ?? "", frames: v.getVideoPlaybackQuality().totalVideoFrames };
  });
  /** Once the page shows new frames again after `since`: ms it took, and frames shown over the next 2 s. */
  const liveAgain = async (since: number, frozenAt: number) => {
    await until("watch page showing frames again", async () => ((await read()).frames >= frozenAt + 15 ? true : undefined), 30_000);
    const at = performance.now() - since;
    const before = (await read()).frames;
    await Bun.sleep(2_000);
    return { afterMs: at, framesOver2s: (await read()).frames - before };
  };
  await until("watch page playing", async () => ((await read()).frames > 0 ? true : undefined), 10_000);
  return { read, liveAgain };
}

async function stopPublisher(p: ReturnType<typeof spawn>): Promise<number> {
  p.proc.kill("SIGTERM");
  return p.proc.exited;
}

/** serve killed 6 s in, back 3 s later on the same port. */
async function serverRestart(browser: Browser) {
  let server = await serve();
  const pub = publish(`${ORIGIN}/whip/live`);
  await live();
  // A viewer leaves the watch page open through it all: the page joins again by itself.
  const page = await watchPage(browser);
  await Bun.sleep(6_000);
  server.proc.kill("SIGKILL");
  await server.proc.exited;
  const frozenAt = (await page.read()).frames;
  await Bun.sleep(3_000);
  server = await serve();
  const backAt = performance.now();
  await live();
  const liveAfterMs = performance.now() - backAt;
  const pageAgain = await page.liveAgain(backAt, frozenAt).catch((e: Error) => ({ error: e.message }));
  const seen = await watch(browser);
  const exit = await stopPublisher(pub);
  await Bun.sleep(300);
  return {
    running: true,
    liveAfterMs,
    pageAgain,
    newViewerFirstFrameMs: seen.firstFrameMs,
    join: seen.join,
    decoded: seen.decoded,
    publisherExit: exit,
    deleted: messages(server.lines).some((m) => m.includes("publisher ended the session")),
    publisher: messages(pub.lines).filter((m) => /lost|again|attempt|error/.test(m)),
  };
}

/** All UDP dropped for `seconds`, HTTP still up. */
async function blackhole(browser: Browser, seconds: number) {
  const server = await serve();
  const pub = publish(`${ORIGIN}/whip/live`);
  await live();
  await Bun.sleep(3_000);
  const iptables = (op: "-I" | "-D") => Bun.spawnSync(["iptables", op, "INPUT", "-p", "udp", "-j", "DROP"]).exitCode;
  const added = iptables("-I");
  await Bun.sleep(seconds * 1000);
  const removed = iptables("-D");
  const backAt = performance.now();
  const again = await until("live again", async () => pub.lines.find((l) => l.at > backAt - seconds * 1000 && l.text.includes("live again")), 30_000).catch(() => undefined);
  const seen = await watch(browser, 4_000);
  const viewer = (await seen.viewer.stats()).video;
  const exit = await stopPublisher(pub);
  return {
    iptables: [added, removed],
    liveAgainAfterPathMs: again ? again.at - backAt : undefined,
    join: seen.join,
    decoded: seen.decoded,
    // How the viewer fared, shown when it falls short: first frame, freezes, losses, PLIs.
    viewer: { firstFrameMs: seen.firstFrameMs, ...viewer },
    publisherExit: exit,
    // The adaptation steps too: what the stream came back at.
    publisher: messages(pub.lines).filter((m) => /lost|again|attempt|error| → /.test(m)),
    server: messages(server.lines).filter((m) => /stream "live"/.test(m)),
  };
}

/**
 * The path moves: every UDP port the publisher has open is dropped (both ways), while HTTP and
 * the server's own ports stay up. Only a restart on new sockets gets through: media must come
 * back by ICE restart (PATCH), with no new POST.
 */
async function portMoved(browser: Browser) {
  const server = await serve();
  const pub = publish(`${ORIGIN}/whip/live`);
  await live();
  await Bun.sleep(2_000);
  const ss = Bun.spawnSync(["ss", "-uanpH"]).stdout.toString();
  const ports = [...new Set(ss.split("\n").filter((l) => l.includes(`pid=${pub.proc.pid},`)).map((l) => Number(/\S+:(\d+)\s+\S+\s*users/.exec(l)?.[1])).filter((n) => n > 0))];
  const rules = ports.flatMap((p) => [["INPUT", "--dport"], ["OUTPUT", "--sport"]].map(([chain, dir]) => ["iptables", "-I", chain!, "-p", "udp", dir!, String(p), "-j", "DROP"]));
  const blockedAt = performance.now();
  const added = rules.map((r) => Bun.spawnSync(r).exitCode);
  const again = await until("live again", async () => pub.lines.find((l) => l.at > blockedAt && l.text.includes("live again")), 30_000).catch(() => undefined);
  const seen = await watch(browser, 4_000);
  const exit = await stopPublisher(pub);
  const log = messages(server.lines);
  return {
    ports: ports.length,
    added,
    liveAgainAfterMs: again ? again.at - blockedAt : undefined,
    posts: log.filter((m) => m.includes("publisher connected") || m.includes("publisher replaced")).length,
    restarts: log.filter((m) => m.includes("restarted ICE")).length,
    join: seen.join,
    decoded: seen.decoded,
    publisherExit: exit,
    publisher: messages(pub.lines).filter((m) => /lost|again|attempt|error/.test(m)),
  };
}

/**
 * A new interface comes up under a live publish (a veth pair, 198.18.0.1 from the benchmarking range):
 * the publisher restarts ICE at once, on sockets that include the new address, with no new POST.
 */
async function networkChange(browser: Browser) {
  const server = await serve();
  const pub = publish(`${ORIGIN}/whip/live`);
  await live();
  await Bun.sleep(2_000);
  const ip = (...args: string[]) => Bun.spawnSync(["ip", ...args]).exitCode;
  const changedAt = performance.now();
  const added = [ip("link", "add", "v0", "type", "veth", "peer", "name", "v1"), ip("addr", "add", "198.18.0.1/24", "dev", "v0"), ip("link", "set", "v0", "up"), ip("link", "set", "v1", "up")];
  const again = await until("live again", async () => pub.lines.find((l) => l.at > changedAt && l.text.includes("live again")), 20_000).catch(() => undefined);
  const seen = await watch(browser, 3_000);
  const exit = await stopPublisher(pub);
  const log = messages(server.lines);
  return {
    added,
    liveAgainAfterMs: again ? again.at - changedAt : undefined,
    posts: log.filter((m) => m.includes("publisher connected") || m.includes("publisher replaced")).length,
    restarts: log.filter((m) => m.includes("restarted ICE")).length,
    join: seen.join,
    decoded: seen.decoded,
    publisherExit: exit,
    publisher: messages(pub.lines).filter((m) => /lost|again|attempt|error/.test(m)),
  };
}

/** The server killed for good: --no-reconnect ends at once (6); --reconnect-timeout 3 gives up (4). */
async function giveUp(flag: "--no-reconnect" | "--reconnect-timeout") {
  const server = await serve();
  const pub = publish(`${ORIGIN}/whip/live`, flag === "--no-reconnect" ? [flag] : [flag, "3"]);
  await live();
  await Bun.sleep(1_000);
  server.proc.kill("SIGKILL");
  const killedAt = performance.now();
  const exit = await Promise.race([pub.proc.exited, Bun.sleep(30_000).then(() => -1)]);
  const afterMs = performance.now() - killedAt;
  await Bun.sleep(200);
  const errors = pub.lines.filter((l) => l.text.includes('"level":"error"')).map((l) => (JSON.parse(l.text) as { msg: string }).msg);
  return { exit, afterMs, errors };
}

/**
 * The publisher process dies (SIGKILL) and is started again at once, as launchd or cron would:
 * the new one gets the stream (no 409 that ends it), and the watch page left open shows it.
 */
async function publisherCrash(browser: Browser) {
  const server = await serve();
  const first = publish(`${ORIGIN}/whip/live`);
  await live();
  const page = await watchPage(browser);
  await Bun.sleep(2_000);
  first.proc.kill("SIGKILL");
  await first.proc.exited;
  const frozenAt = (await page.read()).frames;
  const second = publish(`${ORIGIN}/whip/live`);
  const startedAt = performance.now();
  const secondLive = await until("second publisher live", async () => second.lines.find((l) => l.text.includes('"msg":"live:')), 30_000).then((l) => l.at - startedAt).catch(() => undefined);
  const pageAgain = await page.liveAgain(startedAt, frozenAt).catch((e: Error) => ({ error: e.message }));
  const exit = await stopPublisher(second);
  return { secondLiveAfterMs: secondLive, pageAgain, secondExit: exit, second: messages(second.lines).filter((m) => /409|trying again|error/.test(m)), server: messages(server.lines).filter((m) => /stream "live"/.test(m)) };
}

/**
 * A front that forwards to serve, except that after the fault its POSTs are answered by the
 * refusal under test (401; 503 with Retry-After: 2; 404 for 10 s, then forwarded).
 */
async function refusal(refusal: "401" | "503" | "404") {
  let server = await serve();
  const posts: number[] = [];
  let refusing = false;
  let refusingSince = 0;
  const front = Bun.serve({
    hostname: "127.0.0.1",
    port: 0,
    async fetch(req) {
      const url = new URL(req.url);
      if (req.method === "POST" && refusing) {
        posts.push(performance.now());
        if (refusal === "401") return new Response("no", { status: 401, statusText: "Unauthorized" });
        if (refusal === "503" && posts.length <= 2) return new Response("busy", { status: 503, headers: { "retry-after": "2" } });
        if (refusal === "404" && performance.now() - refusingSince < 10_000) return new Response("unknown", { status: 404 });
      }
      try {
        const res = await fetch(`${ORIGIN}${url.pathname}`, { method: req.method, headers: req.headers, body: req.method === "GET" || req.method === "DELETE" ? undefined : await req.text(), redirect: "manual" });
        return new Response(await res.arrayBuffer(), { status: res.status, headers: res.headers });
      } catch {
        return new Response("upstream down", { status: 502 });
      }
    },
  });
  cleanups.push(() => front.stop(true));
  const pub = publish(`http://127.0.0.1:${front.port}/whip/live`);
  await live();
  await Bun.sleep(2_000);
  refusing = true;
  refusingSince = performance.now();
  server.proc.kill("SIGKILL");
  await server.proc.exited;
  server = await serve();
  const exited = await Promise.race([pub.proc.exited, live().then(() => undefined)]);
  const liveAt = performance.now();
  const exit = exited ?? (await stopPublisher(pub));
  return {
    exit,
    liveAfterRefusingMs: exited === undefined ? liveAt - refusingSince : undefined,
    postGapsMs: posts.slice(1).map((t, i) => Math.round(t - posts[i]!)),
    posts: posts.length,
    publisher: messages(pub.lines).filter((m) => /lost|again|attempt|error|refused/.test(m)),
  };
}

/** 300 WHEP offers that never complete ICE, posted at once while a real viewer watches. */
async function flood(browser: Browser) {
  await serve();
  const pub = publish(`${ORIGIN}/whip/live`);
  await live();
  const first = await openWhepViewer(browser, ORIGIN);
  const firstJoin = (await first.join(`${ORIGIN}/whep/live`)).status;
  await until("first frame", () => first.firstFrameAfterMs(), 10_000);
  // A real browser offer, from a peer that is closed at once: nobody will answer the checks.
  const offerPage = await browser.page(`${ORIGIN}/api/streams`);
  const offer = await offerPage.evaluate(async () => {
    const pc = new RTCPeerConnection();
    pc.addTransceiver("video", { direction: "recvonly" });
    pc.addTransceiver("audio", { direction: "recvonly" });
    await pc.setLocalDescription(await pc.createOffer());
    await new Promise((r) => setTimeout(r, 500));
    const sdp = pc.localDescription!.sdp;
    pc.close();
    return sdp;
  });
  const before = (await first.stats()).video?.framesDecoded ?? 0;
  const statuses = await Promise.all(Array.from({ length: 300 }, () => fetch(`${ORIGIN}/whep/live`, { method: "POST", headers: { "content-type": "application/sdp" }, body: offer }).then((r) => r.status, () => 0)));
  await Bun.sleep(5_000);
  const firstDecodedOver5s = ((await first.stats()).video?.framesDecoded ?? 0) - before;
  await Bun.sleep(10_000);
  const second = await watch(browser, 3_000);
  const exit = await stopPublisher(pub);
  const count = (s: number) => statuses.filter((x) => x === s).length;
  return { firstJoin, created: count(201), tooMany: count(429), other: statuses.length - count(201) - count(429), firstDecodedOver5s, secondJoin: second.join, secondDecoded: second.decoded, publisherExit: exit };
}

let result: unknown;
const browser = await launchChromium();
cleanups.push(() => browser.close());
try {
  if (input.name === "serverRestart") result = await serverRestart(browser);
  else if (input.name === "blackhole") result = await blackhole(browser, input.seconds ?? 8);
  else if (input.name === "refusal") result = await refusal(input.refusal ?? "401");
  else if (input.name === "flood") result = await flood(browser);
  else if (input.name === "portMoved") result = await portMoved(browser);
  else if (input.name === "networkChange") result = await networkChange(browser);
  else if (input.name === "giveUp") result = await giveUp(input.flag ?? "--no-reconnect");
  else if (input.name === "publisherCrash") result = await publisherCrash(browser);
  else throw new Error(`unknown scenario ${input.name}`);
} finally {
  for (const c of cleanups.reverse()) await Promise.resolve(c()).catch(() => {});
}
console.log(JSON.stringify(result));
process.exit(0);
