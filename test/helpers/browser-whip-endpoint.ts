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
    /** Seconds spent in those freezes. */
    totalFreezesDuration: number;
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
  /**
   * false: answer without abs-capture-time and playout-delay, as a receiver that does not know
   * them would (Chromium takes both when offered; setHeaderExtensionsToNegotiate cannot stop
   * abs-capture-time in a bundled answer, so the lines are taken out of the answer it made).
   */
  timingExtensions?: boolean;
}

/** One presented frame, from requestVideoFrameCallback, its times on the Unix epoch (ms). */
export interface PresentedFrame {
  rtpTimestamp: number;
  /** From abs-capture-time (Chromium converts it to its own clock); absent without it. */
  captureMs?: number;
  /** When the frame's last packet arrived. */
  receiveMs?: number;
  /** When the callback ran: the frame is on its way to the screen. */
  presentedMs: number;
  /** When the compositor expects to show it. */
  expectedDisplayMs: number;
}

/**
 * Defines window.watchFrames(video): every presented frame's requestVideoFrameCallback metadata,
 * collected into video.frames as PresentedFrame objects.
 */
export const FRAMES_SCRIPT = `window.watchFrames = (video) => {
  video.frames = [];
  const epoch = (t) => (t === undefined ? undefined : performance.timeOrigin + t);
  const onFrame = (now, m) => {
    video.frames.push({ rtpTimestamp: m.rtpTimestamp, captureMs: epoch(m.captureTime), receiveMs: epoch(m.receiveTime),
      presentedMs: epoch(now), expectedDisplayMs: epoch(m.expectedDisplayTime) });
    if (video.frames.length > 20000) video.frames.splice(0, 10000);
    video.requestVideoFrameCallback(onFrame);
  };
  video.requestVideoFrameCallback(onFrame);
};
`;

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
      pliCount: s.pliCount || 0, freezeCount: s.freezeCount || 0, totalFreezesDuration: s.totalFreezesDuration || 0, mimeType: c.mimeType || "", sdpFmtpLine: c.sdpFmtpLine || "" };
    if (s.kind === "audio") out.audio = { totalSamplesReceived: s.totalSamplesReceived || 0, audioLevel: s.audioLevel || 0,
      packetsLost: s.packetsLost || 0, concealedSamples: s.concealedSamples || 0, mimeType: c.mimeType || "", sdpFmtpLine: c.sdpFmtpLine || "" };
  });
  return out;
};
`;

const PAGE = `<!doctype html><meta charset=utf-8><title>whipcast test receiver</title><body>
<script>
window.sessions = {};
window.videos = {};
window.answer = async (id, offer) => {
  const pc = new RTCPeerConnection();
  window.sessions[id] = pc;
  pc.ontrack = (e) => {
    const el = document.createElement(e.track.kind);
    el.autoplay = true; el.srcObject = new MediaStream([e.track]);
    if (e.track.kind === "video") { window.videos[id] = el; window.watchFrames(el); }
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
window.frames = (id) => (window.videos[id] ? window.videos[id].frames : []);
/** abs-capture-time as Chromium read it off the video packets (RTCRtpContributingSource.captureTimestamp). */
window.senderCaptureTime = (id) => {
  const r = window.sessions[id].getReceivers().find((x) => x.track.kind === "video");
  const s = r ? r.getSynchronizationSources()[0] : undefined;
  return s && s.captureTimestamp !== undefined ? { captureTimestamp: s.captureTimestamp, offset: s.senderCaptureTimeOffset } : null;
};
${STATS_SCRIPT}
${FRAMES_SCRIPT}
</script>`;

export interface BrowserWhipEndpoint {
  url: string;
  /** The receiving page (its <video> and <audio> elements play each session's tracks). */
  page: Page;
  requests: RecordedRequest[];
  sessions: string[];
  deleted: Set<string>;
  /** The answers given, in order. */
  answers: string[];
  stats(id?: string): Promise<InboundStats>;
  /** The frames presented so far (requestVideoFrameCallback). */
  frames(id?: string): Promise<PresentedFrame[]>;
  /** The video's latest abs-capture-time as Chromium read it (NTP ms), or null when none came. */
  senderCaptureTime(id?: string): Promise<{ captureTimestamp: number; offset: number } | null>;
  close(): Promise<void>;
}

export async function startBrowserWhipEndpoint(options: EndpointOptions = {}): Promise<BrowserWhipEndpoint> {
  const browser: Browser = await launchChromium();
  const requests: RecordedRequest[] = [];
  const sessions: string[] = [];
  const deleted = new Set<string>();
  const answers: string[] = [];
  let receiver!: Page;
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
        let answer = await receiver.evaluate(([i, o]) => (window as unknown as { answer(i: string, o: string): Promise<string> }).answer(i!, o!), [id, offer]);
        if (options.timingExtensions === false) answer = answer.replace(/^a=extmap:\d+ http:\/\/www\.webrtc\.org\/experiments\/rtp-hdrext\/(abs-capture-time|playout-delay)\r?\n/gm, "");
        if (options.breakFirstAnswer && next === 1) answer = answer.replace(/^a=ice-pwd:.*$/m, "a=ice-pwd:wrongwrongwrongwrongwrong");
        sessions.push(id);
        answers.push(answer);
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
  receiver = await browser.page(`${base}/`);
  return {
    url: `${base}/whip`,
    page: receiver,
    requests,
    sessions,
    deleted,
    answers,
    stats: (id = sessions[sessions.length - 1]) => receiver.evaluate((i) => (window as unknown as { stats(i: string): Promise<InboundStats> }).stats(i), id!),
    senderCaptureTime: (id = sessions[sessions.length - 1]) => receiver.evaluate((i) => (window as unknown as { senderCaptureTime(i: string): { captureTimestamp: number; offset: number } | null }).senderCaptureTime(i), id!),
    frames: (id = sessions[sessions.length - 1]) => receiver.evaluate((i) => (window as unknown as { frames(i: string): PresentedFrame[] }).frames(i), id!),
    async close() {
      server.stop(true);
      await browser.close();
    },
  };
}
