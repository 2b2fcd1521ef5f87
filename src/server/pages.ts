/**
 * The two pages `whipcast serve` shows, embedded as strings: no CDN, no build step, no files at
 * run time. `/` lists the live streams with their viewer counts; `/watch/<stream>` plays one over
 * WHEP with play/stop, mute, volume and a stats overlay.
 */
const STYLE = `
:root { color-scheme: dark; font: 15px/1.4 system-ui, sans-serif; }
body { margin: 0; background: #111; color: #eee; }
header { padding: 12px 20px; background: #1b1b1b; border-bottom: 1px solid #333; }
header a { color: #eee; text-decoration: none; font-weight: 600; }
main { padding: 20px; }
ul { list-style: none; padding: 0; }
li { padding: 10px 0; border-bottom: 1px solid #2a2a2a; }
li a { color: #7cc4ff; font-weight: 600; }
.viewers { color: #aaa; margin-left: 10px; }
.stage { position: relative; max-width: 1280px; background: #000; }
video { width: 100%; display: block; aspect-ratio: 16 / 9; background: #000; }
#stats { position: absolute; top: 8px; left: 8px; padding: 6px 9px; background: rgba(0,0,0,.65);
  font: 12px/1.5 ui-monospace, monospace; white-space: pre; border-radius: 4px; }
.controls { display: flex; gap: 12px; align-items: center; padding: 10px 0; }
button { background: #2d2d2d; color: #eee; border: 1px solid #444; padding: 6px 14px; border-radius: 4px; cursor: pointer; }
#status { color: #aaa; }
`;

function escape(s: string): string {
  return s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

export function indexPage(): string {
  return `<!doctype html><html lang="en"><meta charset="utf-8"><meta name="viewport" content="width=device-width">
<title>whipcast</title><style>${STYLE}</style>
<header><a href="/">whipcast</a></header>
<main><h1>Live streams</h1><p id="empty">No stream is live. Publish with <code>whipcast publish http://HOST/whip/NAME</code>.</p>
<ul id="streams"></ul></main>
<script>
const list = document.getElementById("streams"), empty = document.getElementById("empty");
empty.querySelector("code").textContent = "whipcast publish " + location.origin + "/whip/NAME";
async function refresh() {
  try {
    const streams = await (await fetch("/api/streams", { cache: "no-store" })).json();
    empty.hidden = streams.length > 0;
    const seen = new Set();
    for (const s of streams) {
      seen.add(s.name);
      let li = list.querySelector('li[data-stream="' + CSS.escape(s.name) + '"]');
      if (!li) {
        li = document.createElement("li");
        li.dataset.stream = s.name;
        const a = document.createElement("a");
        a.href = "/watch/" + encodeURIComponent(s.name);
        a.textContent = s.name;
        const v = document.createElement("span");
        v.className = "viewers";
        li.append(a, v);
        list.append(li);
      }
      li.querySelector(".viewers").textContent = s.viewers + (s.viewers === 1 ? " viewer" : " viewers");
    }
    for (const li of [...list.children]) if (!seen.has(li.dataset.stream)) li.remove();
  } catch {}
}
refresh();
setInterval(refresh, 1000);
</script></html>`;
}

export function watchPage(stream: string, needsToken: boolean): string {
  const name = escape(stream);
  return `<!doctype html><html lang="en"><meta charset="utf-8"><meta name="viewport" content="width=device-width">
<title>${name} · whipcast</title><style>${STYLE}</style>
<header><a href="/">whipcast</a> / ${name}</header>
<main>
<div class="stage"><video id="video" playsinline autoplay></video><div id="stats">connecting…</div></div>
<div class="controls">
  <button id="play">Stop</button>
  <button id="mute">Unmute</button>
  <label>Volume <input id="volume" type="range" min="0" max="1" step="0.05" value="1"></label>
  <label title="Render each frame as soon as it is decoded (off: a 500 ms buffer for jittery networks)"><input id="lowlat" type="checkbox"> Low latency</label>
  <span id="status">connecting…</span>
</div>
</main>
<script>
const STREAM = ${JSON.stringify(stream)}, NEEDS_TOKEN = ${needsToken};
const video = document.getElementById("video"), statsBox = document.getElementById("stats");
const playBtn = document.getElementById("play"), muteBtn = document.getElementById("mute");
const volume = document.getElementById("volume"), statusEl = document.getElementById("status");
const token = new URLSearchParams(location.hash.slice(1)).get("token");
// Low latency (the default): the jitter buffer aims at no delay, and the publisher's
// playout-delay (minimum 0) lets Chromium render each frame once decoded. ?latency=smooth
// buffers 500 ms instead, for a viewer on a jittery network.
const lowLatency = document.getElementById("lowlat");
lowLatency.checked = new URLSearchParams(location.search).get("latency") !== "smooth";
const applyLatency = () => { if (pc) for (const r of pc.getReceivers()) { try { r.jitterBufferTarget = lowLatency.checked ? 0 : 500; } catch {} } };
lowLatency.onchange = () => {
  applyLatency();
  const u = new URL(location.href);
  if (lowLatency.checked) u.searchParams.delete("latency"); else u.searchParams.set("latency", "smooth");
  history.replaceState(null, "", u);
};
// Capture → screen, frame by frame, where the browser knows each frame's capture time
// (requestVideoFrameCallback captureTime: abs-capture-time and the Sender Reports).
let glass = [];
const onFrame = (now, m) => { if (m.captureTime !== undefined) { glass.push(now - m.captureTime); if (glass.length > 30) glass.shift(); } video.requestVideoFrameCallback(onFrame); };
if (video.requestVideoFrameCallback) video.requestVideoFrameCallback(onFrame);
// Browsers refuse to autoplay sound without a gesture: start muted, let the viewer unmute.
video.muted = true;
let pc, resource, playing = true, retry, last, lost;
const auth = () => (token ? { authorization: "Bearer " + token } : {});
const setStatus = (s) => { statusEl.textContent = s; video.dataset.state = s; };

async function start() {
  clearTimeout(retry);
  if (NEEDS_TOKEN && !token) { setStatus("this stream needs a viewer token: open the link with #token=…"); return; }
  setStatus("connecting…");
  pc = new RTCPeerConnection();
  for (const kind of ["video", "audio"]) {
    const t = pc.addTransceiver(kind, { direction: "recvonly" });
    // Ask for abs-capture-time (browsers offer it stopped): the publisher's capture instant of
    // each frame, which the relay passes on.
    try { t.setHeaderExtensionsToNegotiate(t.getHeaderExtensionsToNegotiate().map((x) => (x.uri.endsWith("/abs-capture-time") ? { uri: x.uri, direction: "recvonly" } : x))); } catch {}
  }
  const stream = new MediaStream();
  pc.ontrack = (e) => { stream.addTrack(e.track); video.srcObject = stream; };
  const mine = pc;
  pc.onconnectionstatechange = () => {
    if (pc !== mine) return;
    const state = pc.connectionState;
    if (state === "connected") { clearTimeout(lost); setStatus("live"); }
    if (state === "failed" || state === "closed") { stopSession(); schedule(); }
    // The server gone or restarted: nothing answers our consent checks. Join again after 4 s
    // of that rather than the browser's 30 s (the publisher may be back by then, or soon).
    if (state === "disconnected") { clearTimeout(lost); lost = setTimeout(() => { if (pc === mine && pc.connectionState !== "connected") { setStatus("reconnecting…"); stopSession(); schedule(500); } }, 4000); }
  };
  await pc.setLocalDescription(await pc.createOffer());
  await new Promise((r) => { if (pc.iceGatheringState === "complete") r(); else pc.addEventListener("icegatheringstatechange", () => pc.iceGatheringState === "complete" && r()); setTimeout(r, 2000); });
  try {
    const res = await fetch("/whep/" + encodeURIComponent(STREAM), { method: "POST", headers: { "content-type": "application/sdp", ...auth() }, body: pc.localDescription.sdp });
    if (res.status !== 201) {
      const p = await res.json().catch(() => ({}));
      throw new Error(res.status === 404 ? "waiting for the stream to go live…" : (p.detail || p.title || "HTTP " + res.status));
    }
    resource = new URL(res.headers.get("location"), location.href).href;
    await pc.setRemoteDescription({ type: "answer", sdp: await res.text() });
    applyLatency();
  } catch (e) {
    stopSession();
    setStatus(e.message);
    schedule();
  }
}
function schedule(ms = 2000) { clearTimeout(retry); if (playing) retry = setTimeout(start, ms); }
function stopSession() {
  if (resource) { fetch(resource, { method: "DELETE", headers: auth(), keepalive: true }).catch(() => {}); resource = undefined; }
  if (pc) { const p = pc; pc = undefined; p.close(); }
  video.srcObject = null;
  glass = [];
  last = undefined;
}
playBtn.onclick = () => {
  playing = !playing;
  playBtn.textContent = playing ? "Stop" : "Play";
  if (playing) start(); else { clearTimeout(retry); stopSession(); setStatus("stopped"); }
};
muteBtn.onclick = () => { video.muted = !video.muted; };
video.onvolumechange = () => { muteBtn.textContent = video.muted ? "Unmute" : "Mute"; if (Math.abs(video.volume - volume.value) > 0.001) volume.value = video.volume; };
volume.oninput = () => { video.volume = Number(volume.value); if (video.volume > 0 && video.muted) video.muted = false; };
addEventListener("pagehide", stopSession);

// Nothing at all arriving for 4 s on a live session (the server restarted, the publisher went):
// join again without waiting for the browser to call the connection failed.
let inbound = { bytes: -1, since: 0 };
async function overlay() {
  if (!pc) { statsBox.textContent = statusEl.textContent; return; }
  const report = await pc.getStats();
  let v, rtt, bytes = 0;
  report.forEach((s) => {
    if (s.type === "inbound-rtp") bytes += s.bytesReceived || 0;
    if (s.type === "inbound-rtp" && s.kind === "video") v = s;
    if (s.type === "candidate-pair" && s.nominated && s.currentRoundTripTime !== undefined) rtt = s.currentRoundTripTime;
  });
  const t = performance.now();
  if (bytes !== inbound.bytes) inbound = { bytes, since: t };
  else if (statusEl.textContent === "live" && t - inbound.since > 4000) { inbound = { bytes: -1, since: t }; setStatus("reconnecting…"); stopSession(); schedule(500); return; }
  if (!v) { statsBox.textContent = statusEl.textContent; return; }
  const now = performance.now();
  const kbps = last ? ((v.bytesReceived - last.bytes) * 8) / (now - last.t) : 0;
  last = { t: now, bytes: v.bytesReceived };
  const lossPct = v.packetsReceived + v.packetsLost > 0 ? (100 * v.packetsLost) / (v.packetsReceived + v.packetsLost) : 0;
  const jitterMs = v.jitterBufferEmittedCount ? (1000 * v.jitterBufferDelay) / v.jitterBufferEmittedCount : 0;
  const decodeMs = v.framesDecoded ? (1000 * (v.totalDecodeTime || 0)) / v.framesDecoded : 0;
  const rttMs = rtt !== undefined ? rtt * 1000 : undefined;
  const delay = (rttMs ?? 0) / 2 + jitterMs + decodeMs;
  statsBox.textContent = [
    (v.frameWidth || 0) + "x" + (v.frameHeight || 0) + " @ " + Math.round(v.framesPerSecond || 0) + " fps",
    Math.round(kbps) + " kbit/s",
    "loss " + lossPct.toFixed(1) + " %",
    "RTT " + (rttMs === undefined ? "–" : rttMs.toFixed(0) + " ms"),
    // captureTime is the sender's capture clock put on this one through the browser's estimate of
    // their offset (a few ms either way), so a delay that short can read below zero: shown as 0.
    glass.length > 0 ? "capture → screen ≈ " + Math.max(0, [...glass].sort((a, b) => a - b)[glass.length >> 1]).toFixed(0) + " ms" : "delay ≈ " + delay.toFixed(0) + " ms",
  ].join("\\n");
}
setInterval(() => overlay().catch(() => {}), 1000);
start();
</script></html>`;
}
