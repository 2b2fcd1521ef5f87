import type { Page } from "playwright-core";
import { type InboundStats, STATS_SCRIPT } from "./browser-whip-endpoint.ts";
import type { Browser } from "./chromium.ts";

/**
 * RFC 9725 §4.4 from a client's side, for any RTCPeerConnection with a session resource:
 * PATCHes with a given If-Match, and a real ICE restart (If-Match: *) whose answer fragment is
 * applied. Shared by the WHEP viewer and the browser WHIP publisher.
 */
export const ICE_RESTART_SCRIPT = `
window.patchSession = async (resource, ifMatch, body) => {
  const headers = { "content-type": "application/trickle-ice-sdpfrag" };
  if (ifMatch !== null) headers["if-match"] = ifMatch;
  const res = await fetch(resource, { method: "PATCH", headers, body });
  return { status: res.status, etag: res.headers.get("etag"), body: await res.text() };
};
window.iceRestart = async (pc, resource) => {
  pc.restartIce();
  await pc.setLocalDescription(await pc.createOffer());
  if (pc.iceGatheringState !== "complete") {
    await new Promise((r) => pc.addEventListener("icegatheringstatechange", () => pc.iceGatheringState === "complete" && r()));
  }
  const sdp = pc.localDescription.sdp;
  const lines = sdp.split("\\r\\n");
  const firstM = lines.findIndex((l) => l.startsWith("m="));
  const section = lines.slice(firstM, lines.findIndex((l, i) => i > firstM && l.startsWith("m=")));
  const frag = [lines.find((l) => l.startsWith("a=ice-ufrag:")), lines.find((l) => l.startsWith("a=ice-pwd:")), lines[firstM],
    section.find((l) => l.startsWith("a=mid:")), ...section.filter((l) => l.startsWith("a=candidate:")), "a=end-of-candidates"].join("\\r\\n") + "\\r\\n";
  const res = await window.patchSession(resource, "*", frag);
  res.offeredUfrag = /a=ice-ufrag:(\\S+)/.exec(sdp)[1];
  if (res.status !== 200) { await pc.setLocalDescription({ type: "rollback" }).catch(() => {}); return res; }
  const ufrag = /a=ice-ufrag:(\\S+)/.exec(res.body)[1], pwd = /a=ice-pwd:(\\S+)/.exec(res.body)[1];
  const cands = res.body.split("\\r\\n").filter((l) => l.startsWith("a=candidate:"));
  let answer = pc.remoteDescription.sdp.replace(/a=ice-ufrag:\\S+/g, "a=ice-ufrag:" + ufrag).replace(/a=ice-pwd:\\S+/g, "a=ice-pwd:" + pwd)
    .split("\\r\\n").filter((l) => !l.startsWith("a=candidate:") && l !== "a=end-of-candidates");
  const mid = answer.findIndex((l) => l.startsWith("a=mid:"));
  answer.splice(mid + 1, 0, ...cands);
  await pc.setRemoteDescription({ type: "answer", sdp: answer.join("\\r\\n") });
  return res;
};
// The local ICE ufrag of the transport in use: after a restart, the new generation's once its
// checks have nominated a pair.
window.iceUfragOf = async (pc) => {
  let ufrag = null;
  (await pc.getStats()).forEach((s) => { if (s.type === "transport") ufrag = s.iceLocalUsernameFragment ?? null; });
  return ufrag;
};
`;

/**
 * A WHEP viewer that is nothing but a plain RTCPeerConnection in headless Chromium: the
 * "standard WHEP player" a server must work with. It records when the viewer POSTed and when
 * its video element presented its first frame (requestVideoFrameCallback), both on the page's
 * clock.
 */
const SCRIPT = `
window.viewer = {};
window.join = async (endpoint, decode = true, token = null) => {
  const v = window.viewer;
  v.postAt = performance.now();
  const pc = new RTCPeerConnection();
  v.pc = pc;
  pc.addTransceiver("video", { direction: "recvonly" });
  pc.addTransceiver("audio", { direction: "recvonly" });
  pc.ontrack = (e) => {
    if (!decode) return;
    const el = document.createElement(e.track.kind);
    el.autoplay = true; el.srcObject = new MediaStream([e.track]);
    document.body.append(el);
    if (e.track.kind === "video") el.requestVideoFrameCallback(() => { v.firstFrameAt = performance.now(); });
  };
  await pc.setLocalDescription(await pc.createOffer());
  if (pc.iceGatheringState !== "complete") {
    await new Promise((r) => pc.addEventListener("icegatheringstatechange", () => pc.iceGatheringState === "complete" && r()));
  }
  const headers = { "content-type": "application/sdp" };
  if (token) headers.authorization = "Bearer " + token;
  const res = await fetch(endpoint, { method: "POST", headers, body: pc.localDescription.sdp });
  if (res.status !== 201) return { status: res.status, body: await res.text() };
  const link = res.headers.get("link");
  v.resource = new URL(res.headers.get("location"), endpoint).href;
  v.etag = res.headers.get("etag");
  await pc.setRemoteDescription({ type: "answer", sdp: await res.text() });
  return link ? { status: 201, link } : { status: 201 };
};
window.leave = async () => {
  const v = window.viewer;
  const res = await fetch(v.resource, { method: "DELETE" });
  v.pc.close();
  return res.status;
};
window.patch = (ifMatch, body) => window.patchSession(window.viewer.resource, ifMatch, body);
${ICE_RESTART_SCRIPT}
window.restartIce = () => window.iceRestart(window.viewer.pc, window.viewer.resource);
window.iceUfrag = () => window.iceUfragOf(window.viewer.pc);
window.joinTimes = () => ({ postAt: window.viewer.postAt, firstFrameAt: window.viewer.firstFrameAt });
`;

export interface WhepViewer {
  page: Page;
  /** POST the offer; with decode false no media element is attached (receive-only load). */
  join(endpoint: string, decode?: boolean, token?: string): Promise<{ status: number; body?: string; link?: string }>;
  stats(): Promise<InboundStats>;
  /** ms from the WHEP POST to the first presented video frame, once there is one. */
  firstFrameAfterMs(): Promise<number | undefined>;
  leave(): Promise<number>;
  patch(ifMatch: string | null, body: string): Promise<{ status: number; etag: string | null; body: string }>;
  /** A real ICE restart by PATCH If-Match: *, its answer applied when it is a 200. */
  restartIce(): Promise<{ status: number; etag: string | null; body: string; offeredUfrag: string }>;
  /** The local ufrag of the ICE transport in use (changes once a restart has connected). */
  iceUfrag(): Promise<string | null>;
}

export async function openWhepViewer(browser: Browser, origin: string): Promise<WhepViewer> {
  const page = await browser.page(`${origin}/api/streams`);
  await page.evaluate(SCRIPT);
  await page.evaluate(STATS_SCRIPT);
  return {
    page,
    join: (endpoint, decode = true, token) =>
      page.evaluate(
        ([e, d, t]) => (window as unknown as { join(e: string, d: boolean, t: string | null): Promise<{ status: number; body?: string; link?: string }> }).join(e as string, d as boolean, t as string | null),
        [endpoint, decode, token ?? null] as const,
      ),
    stats: () => page.evaluate(() => (window as unknown as { statsOf(pc: unknown): Promise<InboundStats> }).statsOf((window as unknown as { viewer: { pc: unknown } }).viewer.pc)),
    async firstFrameAfterMs() {
      const t = await page.evaluate(() => (window as unknown as { joinTimes(): { postAt: number; firstFrameAt?: number } }).joinTimes());
      return t.firstFrameAt === undefined ? undefined : t.firstFrameAt - t.postAt;
    },
    leave: () => page.evaluate(() => (window as unknown as { leave(): Promise<number> }).leave()),
    patch: (ifMatch, body) => page.evaluate(([m, b]) => (window as unknown as { patch(m: string | null, b: string): Promise<{ status: number; etag: string | null; body: string }> }).patch(m as string | null, b as string), [ifMatch, body] as const),
    restartIce: () => page.evaluate(() => (window as unknown as { restartIce(): Promise<{ status: number; etag: string | null; body: string; offeredUfrag: string }> }).restartIce()),
    iceUfrag: () => page.evaluate(() => (window as unknown as { iceUfrag(): Promise<string | null> }).iceUfrag()),
  };
}
