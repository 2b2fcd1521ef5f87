import { ConnectionError, EndpointRefusedError, EndpointUnreachableError, type WhipcastError, asWhipcastError } from "../errors.ts";
import { redactUrl } from "../redact.ts";
import { OFFERED_H264_PROFILE } from "../rtc/codecs.ts";
import { PublisherPeer } from "../rtc/publisher-peer.ts";
import { selectedPair } from "../rtc/path-activity.ts";
import { WhipClient } from "./client.ts";
import type { IceServer } from "./link-header.ts";
import { checkAnswer, sectionCodecs } from "./sdp.ts";

/**
 * `whipcast check`: what a publish would meet at an endpoint, one step at a time, with no media
 * sent. OPTIONS, then a real offer POSTed (the one publish sends), the answer's codecs, ICE and
 * DTLS, and the session DELETEd again. A failing step says what a user can do about it and ends
 * the check with the error publish would end with (so the exit status is publish's); whatever
 * it created is deleted in every case.
 */
export type StepName = "options" | "post" | "location" | "etag" | "ice-servers" | "answer" | "h264" | "opus" | "ice" | "dtls" | "delete";
export type StepResult = "ok" | "warn" | "fail";

export interface CheckStep {
  step: StepName;
  result: StepResult;
  message: string;
  hint?: string;
  /** Figures behind the message, for `--log json`. */
  data?: Record<string, string | number | boolean>;
}

export interface CheckOptions {
  endpoint: string;
  token: string | undefined;
  iceServers: IceServer[];
  /** Each request's timeout, and ICE plus DTLS together. */
  timeoutMs: number;
  loopbackCandidates: boolean;
  /** Each step as it completes. */
  onStep?: (step: CheckStep) => void;
}

export interface CheckReport {
  steps: CheckStep[];
  /** What publish would have failed with; undefined when every step passed or only warned. */
  error: WhipcastError | undefined;
}

class StepFailed extends Error {
  constructor(readonly error: WhipcastError) {
    super(error.message);
  }
}

function ms(from: number): number {
  return Math.round(performance.now() - from);
}

export async function checkEndpoint(o: CheckOptions): Promise<CheckReport> {
  const steps: CheckStep[] = [];
  const record = (s: CheckStep) => {
    steps.push(s);
    o.onStep?.(s);
  };
  const fail = (step: StepName, error: WhipcastError, hint: string | undefined, message = error.message): never => {
    record({ step, result: "fail", message, ...(hint ? { hint } : {}) });
    throw new StepFailed(error);
  };
  const client = new WhipClient({ endpoint: o.endpoint, token: o.token, timeoutMs: o.timeoutMs, maxAttempts: 1 });
  const peer = new PublisherPeer({
    video: true,
    audio: true,
    videoBitrate: 2_500_000,
    startVideoBitrate: 2_500_000,
    minVideoBitrate: 150_000,
    audioBitrate: 128_000,
    adapt: false,
    loopbackCandidates: o.loopbackCandidates,
    iceServers: o.iceServers,
  });
  let resource: string | undefined;
  let error: WhipcastError | undefined;
  try {
    await optionsStep(client, record, fail);
    const offer = await peer.createOffer();
    const posted = performance.now();
    const answer = await client.publish(offer).catch((e: unknown) => {
      const err = asWhipcastError(e);
      const { step, hint } = postFailure(err);
      // The client's own short hint is replaced by the step's fuller one.
      return fail(step, err, hint, hint ? err.message.replace(/ \(check --token \/ WHIP_TOKEN\)$/, "") : err.message);
    });
    resource = answer.resource;
    record({ step: "post", result: "ok", message: `POST answered ${answer.status} in ${ms(posted)} ms`, data: { status: answer.status, ms: ms(posted) } });
    const relative = !/^[a-z][a-z0-9+.-]*:/i.test(answer.location);
    record({
      step: "location",
      result: "ok",
      message: relative ? `Location is relative (${redactPath(answer.location)}), resolved to ${redactUrl(answer.resource)}` : `Location is absolute: ${redactUrl(answer.resource)}`,
      data: { relative, resource: redactUrl(answer.resource) },
    });
    record(
      answer.etag
        ? { step: "etag", result: "ok", message: `ETag ${answer.etag}`, data: { etag: answer.etag } }
        : { step: "etag", result: "warn", message: "no ETag", hint: "the endpoint may not take ICE restarts (RFC 9725 §4.4.2); whipcast then reconnects with a new POST" },
    );
    record({
      step: "ice-servers",
      result: "ok",
      message: answer.iceServers.length === 0 ? "no ICE servers in Link headers: host candidates only" : `${answer.iceServers.length} ICE server(s) in Link headers: ${answer.iceServers.map((s) => s.urls.split("?")[0]).join(", ")}`,
      data: { count: answer.iceServers.length },
    });
    const codecs = judgeCodecs(answer.sdp, offer);
    for (const step of codecs.steps) record(step);
    if (codecs.error) throw new StepFailed(codecs.error);
    await peer.acceptAnswer(answer.sdp).catch((e: unknown) => fail("answer", new EndpointRefusedError(`endpoint sent an unusable SDP answer: ${e instanceof Error ? e.message : String(e)}`), "the server's answer does not fit the offer; its logs should say why"));
    await connectSteps(peer, o.timeoutMs, record, fail);
  } catch (e) {
    error = e instanceof StepFailed ? e.error : asWhipcastError(e);
    if (!(e instanceof StepFailed)) record({ step: steps.at(-1)?.step ?? "options", result: "fail", message: error.message });
  } finally {
    await peer.close();
    if (resource !== undefined) {
      const end = await client.end(o.timeoutMs);
      if (end.deleted) {
        const confirm = await client.confirmGone(resource);
        record({
          step: "delete",
          result: "ok",
          message: `DELETE answered ${end.status}: session deleted${confirm.gone ? ` (confirmed: the resource now answers ${confirm.status})` : ""}`,
          data: { status: end.status ?? 0, confirmed: confirm.gone },
        });
      } else {
        record({ step: "delete", result: "warn", message: `the session was not deleted: ${end.detail ?? "no answer"}`, hint: "it stays on the server until the server times it out" });
      }
    }
  }
  return { steps, error };
}

type RecordStep = (s: CheckStep) => void;
type Fail = (step: StepName, error: WhipcastError, hint: string | undefined, message?: string) => never;

async function optionsStep(client: WhipClient, record: RecordStep, fail: Fail): Promise<void> {
  const started = performance.now();
  const r = await client.options().catch((e: unknown) => fail("options", asWhipcastError(e), "is the server running, and is the URL right?"));
  if (r.status >= 200 && r.status < 300) {
    const acceptPost = r.acceptPost ? `Accept-Post: ${r.acceptPost}` : "no Accept-Post header";
    const sdp = r.acceptPost === undefined || /application\/sdp/i.test(r.acceptPost);
    record({
      step: "options",
      result: sdp ? "ok" : "warn",
      message: `OPTIONS answered ${r.status} in ${ms(started)} ms; ${acceptPost}`,
      ...(sdp ? {} : { hint: "the endpoint does not say it takes application/sdp; it may not be a WHIP endpoint" }),
      data: { status: r.status, ...(r.acceptPost ? { acceptPost: r.acceptPost } : {}) },
    });
  } else {
    record({ step: "options", result: "warn", message: `OPTIONS answered ${r.status}`, hint: "a browser's CORS preflight would fail here; whipcast itself does not need OPTIONS", data: { status: r.status } });
  }
}

/** Which step a failed POST belongs to, and what to do about it. */
function postFailure(err: WhipcastError): { step: StepName; hint: string | undefined } {
  if (/without a Location header/.test(err.message)) return { step: "location", hint: "the server must send Location (RFC 9725 §4.2); without it the session cannot be ended or restarted, and stays until the server times it out" };
  const status = (err as EndpointRefusedError).status;
  const hints: Record<number, string> = {
    401: "the endpoint wants a token: pass --token-file PATH or set WHIP_TOKEN",
    403: "the token was refused: check it is this stream's, and not expired",
    404: "no stream or room at this URL: check its path",
    405: "this URL does not take POST: is it the WHIP URL, not a viewer's?",
    409: "the stream is already being published, by another whipcast or another tool",
    415: "the endpoint refused application/sdp: it may not be a WHIP endpoint",
    429: "the endpoint limits how often it is asked: wait before checking again",
  };
  if (status !== undefined && hints[status]) return { step: "post", hint: hints[status] };
  if (err instanceof EndpointUnreachableError) return { step: "post", hint: status ? "the server failed: its logs should say why" : "is the server running, and is the URL right?" };
  return { step: "post", hint: undefined };
}

/**
 * What the answer's codecs mean for a publish (pure): a step each for H.264 and Opus, and the
 * error publish would end with when one is missing or the answer does not fit the offer.
 */
export function judgeCodecs(answer: string, offer: string): { steps: CheckStep[]; error?: WhipcastError } {
  const steps: CheckStep[] = [];
  const fail = (step: StepName, message: string, hint: string) => {
    steps.push({ step, result: "fail", message, hint });
    return { steps, error: new EndpointRefusedError(message) };
  };
  const sections = sectionCodecs(answer);
  const video = sections.find((s) => s.kind === "video");
  const audio = sections.find((s) => s.kind === "audio");
  const h264 = video?.port ? video.codecs.find((c) => c.name.toUpperCase() === "H264") : undefined;
  if (!video || !h264) {
    const others = [...new Set((video?.port ? video.codecs : []).map((c) => c.name).filter((n) => !/^(rtx|red|ulpfec|flexfec-03)$/i.test(n)))];
    const chose = others.length > 0 ? ` (it chose ${others.join(", ")})` : video?.port === 0 ? " (it rejected the video track)" : "";
    const hint = others.length > 0 ? `this room may only accept ${others.join(" or ")}: whipcast sends H.264 only` : "the endpoint takes no H.264 video: publish with --no-video, or configure the room for H.264";
    return fail("h264", `the server answered without H.264${chose}`, hint);
  }
  const profile = h264.parameters["profile-level-id"]?.toLowerCase();
  const mode = h264.parameters["packetization-mode"] ?? "0";
  const rtx = video.codecs.find((c) => c.name.toLowerCase() === "rtx" && c.parameters.apt === String(h264.payloadType));
  const data = { payloadType: h264.payloadType, profileLevelId: profile ?? "", packetizationMode: mode, rtx: rtx !== undefined };
  if (mode !== "1") {
    steps.push({ step: "h264", result: "warn", message: `H.264 accepted with packetization-mode ${mode}`, hint: "whipcast sends mode 1 (FU-A fragments); a mode 0 receiver may drop large frames", data });
  } else if (profile !== undefined && profile !== OFFERED_H264_PROFILE) {
    steps.push({ step: "h264", result: "warn", message: `H.264 accepted, but profile-level-id rewritten to ${profile} (offered ${OFFERED_H264_PROFILE})`, hint: "the server may expect another profile; whipcast sends Constrained Baseline, which every decoder takes", data });
  } else {
    steps.push({ step: "h264", result: "ok", message: `H.264 accepted: profile-level-id ${profile ?? `${OFFERED_H264_PROFILE} (implied)`}, packetization-mode 1, payload type ${h264.payloadType}${rtx ? `, RTX ${rtx.payloadType}` : ", no RTX (losses are repaired by keyframes only)"}`, data });
  }
  const opus = audio?.port ? audio.codecs.find((c) => c.name.toLowerCase() === "opus") : undefined;
  if (!opus) return fail("opus", `the server answered without Opus${audio?.port === 0 ? " (it rejected the audio track)" : ""}`, "the endpoint takes no Opus audio: publish with --no-audio");
  steps.push({ step: "opus", result: "ok", message: `Opus accepted: payload type ${opus.payloadType}, ${opus.clockRate} Hz${opus.parameters.useinbandfec === "1" ? ", in-band FEC" : ""}`, data: { payloadType: opus.payloadType } });
  const problem = checkAnswer(answer, offer);
  if (problem) return fail("answer", `endpoint sent an unusable SDP answer: ${problem}`, "the server's answer does not fit the offer; its logs should say why");
  return { steps };
}

async function connectSteps(peer: PublisherPeer, timeoutMs: number, record: RecordStep, fail: Fail): Promise<void> {
  const started = performance.now();
  const deadline = started + timeoutMs;
  const ice = await waitFor(peer, (pc) => pc.iceConnectionState === "connected" || pc.iceConnectionState === "completed", deadline, (pc) => pc.iceConnectionState === "failed");
  if (ice !== "reached") {
    const remote = peer.pc.remoteDescription?.sdp.match(/^a=candidate:.*$/gm)?.map((c) => c.split(" ").slice(2, 6)).map(([proto, , ip, port]) => `${proto?.toLowerCase()} ${ip}:${port}`) ?? [];
    const where = remote.length > 0 ? `no answer from ${[...new Set(remote)].slice(0, 3).join(", ")}` : "the answer named no candidates";
    fail("ice", new ConnectionError(`ICE did not connect ${ice === "failed" ? "(every candidate pair failed)" : `within ${Math.round(timeoutMs / 1000)} s`}: ${where}`), "UDP to the server may be blocked by a firewall: try a TURN server over TCP or TLS (--ice-server turn:USER:PASS@HOST:443?transport=tcp)");
  }
  const iceMs = ms(started);
  const pair = selectedPair(peer.pc);
  const pairText = pair ? `${pair.local.type} ${pair.local.address}:${pair.local.port} ↔ ${pair.remote.type} ${pair.remote.address}:${pair.remote.port} (${pair.remote.protocol})` : "pair unknown";
  const rtt = pair?.rttMs !== undefined ? `, RTT ${pair.rttMs < 10 ? pair.rttMs.toFixed(1) : Math.round(pair.rttMs)} ms` : "";
  record({ step: "ice", result: "ok", message: `ICE connected in ${iceMs} ms: ${pairText}${rtt}`, data: { ms: iceMs, ...(pair ? { local: `${pair.local.type} ${pair.local.address}:${pair.local.port}`, remote: `${pair.remote.type} ${pair.remote.address}:${pair.remote.port}`, protocol: pair.remote.protocol } : {}), ...(pair?.rttMs !== undefined ? { rttMs: Math.round(pair.rttMs * 10) / 10 } : {}) } });
  const dtlsFrom = performance.now();
  const dtls = await waitFor(peer, (pc) => pc.connectionState === "connected", Math.max(deadline, dtlsFrom + 2_000), (pc) => pc.connectionState === "failed" || pc.connectionState === "closed");
  if (dtls !== "reached") fail("dtls", new ConnectionError(`DTLS did not complete ${dtls === "failed" ? "(the handshake failed)" : "in time"} after ICE connected`), "the server's certificate may not match the fingerprint in its answer");
  record({ step: "dtls", result: "ok", message: `DTLS connected in ${ms(dtlsFrom)} ms: SRTP keys agreed`, data: { ms: ms(dtlsFrom) } });
}

/** Poll the peer's states until `done`, `failed` or the deadline; werift's events can fire before a listener is attached. */
async function waitFor(peer: PublisherPeer, done: (pc: PublisherPeer["pc"]) => boolean, deadline: number, failed: (pc: PublisherPeer["pc"]) => boolean): Promise<"reached" | "failed" | "timeout"> {
  for (;;) {
    if (done(peer.pc)) return "reached";
    if (failed(peer.pc)) return "failed";
    if (performance.now() >= deadline) return "timeout";
    await Bun.sleep(5);
  }
}

/** A relative Location shown with its secret-looking segments hidden. */
function redactPath(location: string): string {
  const shown = redactUrl(new URL(location, "http://h").href);
  return shown.replace(/^http:\/\/h/, "");
}
