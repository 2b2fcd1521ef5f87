import type { Server } from "bun";
import type { Page } from "playwright-core";
import { type Browser, launchChromium } from "./chromium.ts";

/**
 * A WHIP endpoint whose receiver is headless Chromium: each POSTed offer is answered by a
 * RTCPeerConnection in the browser, so libwebrtc (not our code) decodes what whipcast sends.
 * Records every request, so tests can check the DELETE and the Authorization header.
 */
export interface InboundStats {
  video?: {
    framesDecoded: number;
    framesReceived: number;
    keyFramesDecoded: number;
    frameWidth: number;
    frameHeight: number;
    packetsLost: number;
    packetsReceived: number;
    nackCount: number;
    pliCount: number;
    freezeCount: number;
    mimeType: string;
    sdpFmtpLine: string;
  };
  audio?: {
    totalSamplesReceived: number;
    audioLevel: number;
    packetsLost: number;
    concealedSamples: number;
    mimeType: string;
    sdpFmtpLine: string;
  };
  connectionState: string;
}

export interface RecordedRequest {
  method: string;
  path: string;
  authorization: string | null;
  contentType: string | null;
}

export interface EndpointOptions {
  token?: string;
  /** Link header values sent with the 201 (RFC 9725 §4.6). */
  links?: string[];
  /** Answer the first offer with a wrong ice-pwd, so only an ICE restart can connect. */
  breakFirstAnswer?: boolean;
}

/** Defines window.statsOf(pc): the InboundStats of one peer connection. */
export const STATS_SCRIPT = `window.statsOf = async (pc) => {
  const out = { connectionState: pc.connectionState };
  const report = await pc.getStats();
  const codecs = {};
  report.forEach((s) => { if (s.type === "codec") codecs[s.id] = s; });
  report.forEach((s) => {
    if (s.type !== "inbound-rtp") return;
    const c = codecs[s.codecId] || {};
    if (s.kind === "video") out.video = { framesDecoded: s.framesDecoded || 0, framesReceived: s.framesReceived || 0,
      keyFramesDecoded: s.keyFramesDecoded || 0, frameWidth: s.frameWidth || 0, frameHeight: s.frameHeight || 0,
      packetsLost: s.packetsLost || 0, packetsReceived: s.packetsReceived || 0, nackCount: s.nackCount || 0,
      pliCount: s.pliCount || 0, freezeCount: s.freezeCount || 0, mimeType: c.mimeType || "", sdpFmtpLine: c.sdpFmtpLine || "" };
    if (s.kind === "audio") out.audio = { totalSamplesReceived: s.totalSamplesReceived || 0, audioLevel: s.audioLevel || 0,
      packetsLost: s.packetsLost || 0, concealedSamples: s.concealedSamples || 0, mimeType: c.mimeType || "", sdpFmtpLine: c.sdpFmtpLine || "" };
  });
  return out;
};
`;

const PAGE = `<!doctype html><meta charset=utf-8><title>whipcast test receiver</title><body>
<script>
window.sessions = {};
window.answer = async (id, offer) => {
  const pc = new RTCPeerConnection();
  window.sessions[id] = pc;
  pc.ontrack = (e) => {
    const el = document.createElement(e.track.kind);
    el.autoplay = true; el.srcObject = new MediaStream([e.track]);
    document.body.append(el);
  };
  await pc.setRemoteDescription({ type: "offer", sdp: offer });
  await pc.setLocalDescription(await pc.createAnswer());
  if (pc.iceGatheringState !== "complete") {
    await new Promise((r) => pc.addEventListener("icegatheringstatechange", () => pc.iceGatheringState === "complete" && r()));
  }
  return pc.localDescription.sdp;
};
window.stats = (id) => window.statsOf(window.sessions[id]);
${STATS_SCRIPT}
</script>`;

export interface BrowserWhipEndpoint {
  url: string;
  /** The receiving page (its <video> and <audio> elements play each session's tracks). */
  page: Page;
  requests: RecordedRequest[];
  sessions: string[];
  deleted: Set<string>;
  stats(id?: string): Promise<InboundStats>;
  close(): Promise<void>;
}

export async function startBrowserWhipEndpoint(options: EndpointOptions = {}): Promise<BrowserWhipEndpoint> {
  const browser: Browser = await launchChromium();
  const requests: RecordedRequest[] = [];
  const sessions: string[] = [];
  const deleted = new Set<string>();
  let page!: Page;
  let next = 0;
  const server: Server<undefined> = Bun.serve({
    hostname: "127.0.0.1",
    port: 0,
    async fetch(req) {
      const path = new URL(req.url).pathname;
      requests.push({ method: req.method, path, authorization: req.headers.get("authorization"), contentType: req.headers.get("content-type") });
      if (req.method === "GET" && path === "/") return new Response(PAGE, { headers: { "content-type": "text/html" } });
      if (options.token && req.headers.get("authorization") !== `Bearer ${options.token}`) {
        return Response.json({ title: "Unauthorized", detail: "bad or missing bearer token" }, { status: 401, headers: { "content-type": "application/problem+json" } });
      }
      if (req.method === "POST" && path === "/whip") {
        if (req.headers.get("content-type") !== "application/sdp") return new Response("need application/sdp", { status: 415 });
        const id = `s${++next}`;
        const offer = await req.text();
        let answer = await page.evaluate(([i, o]) => (window as unknown as { answer(i: string, o: string): Promise<string> }).answer(i!, o!), [id, offer]);
        if (options.breakFirstAnswer && next === 1) answer = answer.replace(/^a=ice-pwd:.*$/m, "a=ice-pwd:wrongwrongwrongwrongwrong");
        sessions.push(id);
        const headers = new Headers({ "content-type": "application/sdp", location: `/whip/${id}`, etag: `"${id}"` });
        for (const link of options.links ?? []) headers.append("link", link);
        return new Response(answer, { status: 201, headers });
      }
      const m = /^\/whip\/(s\d+)$/.exec(path);
      if (req.method === "DELETE" && m) {
        deleted.add(m[1]!);
        return new Response(null, { status: 200 });
      }
      return new Response("not found", { status: 404 });
    },
  });
  const base = `http://127.0.0.1:${server.port}`;
  page = await browser.page(`${base}/`);
  return {
    url: `${base}/whip`,
    page,
    requests,
    sessions,
    deleted,
    stats: (id = sessions[sessions.length - 1]) => page.evaluate((i) => (window as unknown as { stats(i: string): Promise<InboundStats> }).stats(i), id!),
    async close() {
      server.stop(true);
      await browser.close();
    },
  };
}
