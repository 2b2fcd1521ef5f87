import { describe, expect, test } from "bun:test";
import { judgeCodecs } from "../../src/whip/endpoint-check.ts";

/** What `whipcast check` makes of an answer's codecs (judgeCodecs is pure: SDP text in, steps out). */
const OFFER = "v=0\r\no=- 1 1 IN IP4 0.0.0.0\r\ns=-\r\nt=0 0\r\nm=video 9 UDP/TLS/RTP/SAVPF 97 98\r\na=mid:0\r\nm=audio 9 UDP/TLS/RTP/SAVPF 96\r\na=mid:1\r\n";
const H264 = ["a=rtpmap:97 H264/90000", "a=fmtp:97 level-asymmetry-allowed=1;packetization-mode=1;profile-level-id=42e01f", "a=rtpmap:98 rtx/90000", "a=fmtp:98 apt=97"];
const OPUS = ["a=rtpmap:96 opus/48000/2", "a=fmtp:96 minptime=10;useinbandfec=1"];

function answer(video: { port?: number; formats: string; lines: string[] }, audio: { port?: number; formats: string; lines: string[] } = { formats: "96", lines: OPUS }): string {
  const common = ["a=recvonly", "a=rtcp-mux", "a=ice-ufrag:abcd", "a=ice-pwd:abcdefghijklmnopqrstuv", "a=fingerprint:sha-256 00:11:22:33:44:55:66:77:88:99:AA:BB:CC:DD:EE:FF:00:11:22:33:44:55:66:77:88:99:AA:BB:CC:DD:EE:FF", "a=setup:passive"];
  return [
    "v=0", "o=- 2 2 IN IP4 127.0.0.1", "s=-", "t=0 0",
    `m=video ${video.port ?? 9} UDP/TLS/RTP/SAVPF ${video.formats}`, "a=mid:0", ...common, ...video.lines,
    `m=audio ${audio.port ?? 9} UDP/TLS/RTP/SAVPF ${audio.formats}`, "a=mid:1", ...common, ...audio.lines,
  ].join("\r\n") + "\r\n";
}

const lines = (r: ReturnType<typeof judgeCodecs>) => r.steps.map((s) => `${s.result} ${s.step}: ${s.message}${s.hint ? ` — ${s.hint}` : ""}`);

describe("check: the answer's codecs", () => {
  test("H.264 42e01f in packetization-mode 1 with RTX, and Opus: two ✓, no error", () => {
    const r = judgeCodecs(answer({ formats: "97 98", lines: H264 }), OFFER);
    expect(lines(r)).toEqual(["ok h264: H.264 accepted: profile-level-id 42e01f, packetization-mode 1, payload type 97, RTX 98", "ok opus: Opus accepted: payload type 96, 48000 Hz, in-band FEC"]);
    expect(r.error).toBeUndefined();
  });

  test("the profile rewritten by the server: ⚠, naming both profiles", () => {
    const r = judgeCodecs(answer({ formats: "97", lines: ["a=rtpmap:97 H264/90000", "a=fmtp:97 packetization-mode=1;profile-level-id=640c1f"] }), OFFER);
    expect(lines(r)[0]).toBe("warn h264: H.264 accepted, but profile-level-id rewritten to 640c1f (offered 42e01f) — the server may expect another profile; whipcast sends Constrained Baseline, which every decoder takes");
    expect(r.error).toBeUndefined();
  });

  test("packetization-mode 0 (or none given): ⚠", () => {
    const r = judgeCodecs(answer({ formats: "97", lines: ["a=rtpmap:97 H264/90000", "a=fmtp:97 profile-level-id=42e01f"] }), OFFER);
    expect(lines(r)[0]).toBe("warn h264: H.264 accepted with packetization-mode 0 — whipcast sends mode 1 (FU-A fragments); a mode 0 receiver may drop large frames");
  });

  test("no profile-level-id: ✓, the offered one implied; no RTX said so", () => {
    const r = judgeCodecs(answer({ formats: "97", lines: ["a=rtpmap:97 H264/90000", "a=fmtp:97 packetization-mode=1"] }), OFFER);
    expect(lines(r)[0]).toBe("ok h264: H.264 accepted: profile-level-id 42e01f (implied), packetization-mode 1, payload type 97, no RTX (losses are repaired by keyframes only)");
  });

  test.each([
    ["VP8 only", answer({ formats: "96 97", lines: ["a=rtpmap:96 VP8/90000", "a=rtpmap:97 rtx/90000", "a=fmtp:97 apt=96"] }), "fail h264: the server answered without H.264 (it chose VP8) — this room may only accept VP8: whipcast sends H.264 only"],
    ["VP8 or VP9", answer({ formats: "96 98", lines: ["a=rtpmap:96 VP8/90000", "a=rtpmap:98 VP9/90000"] }), "fail h264: the server answered without H.264 (it chose VP8, VP9) — this room may only accept VP8 or VP9: whipcast sends H.264 only"],
    ["video rejected", answer({ port: 0, formats: "97", lines: H264 }), "fail h264: the server answered without H.264 (it rejected the video track) — the endpoint takes no H.264 video: publish with --no-video, or configure the room for H.264"],
    ["audio rejected", answer({ formats: "97 98", lines: H264 }, { port: 0, formats: "96", lines: OPUS }), "fail opus: the server answered without Opus (it rejected the audio track) — the endpoint takes no Opus audio: publish with --no-audio"],
    ["no Opus", answer({ formats: "97 98", lines: H264 }, { formats: "0", lines: ["a=rtpmap:0 PCMU/8000"] }), "fail opus: the server answered without Opus — the endpoint takes no Opus audio: publish with --no-audio"],
  ])("%s: ✗ with its hint, and publish's refusal (exit 3)", (_, sdp, last) => {
    const r = judgeCodecs(sdp, OFFER);
    expect(lines(r).at(-1)).toBe(last);
    expect(r.error?.code).toBe("refused");
  });

  test("codecs fine but an answer that does not fit the offer: ✗ answer", () => {
    const sendonly = answer({ formats: "97 98", lines: H264 }).replace("a=recvonly", "a=sendonly");
    const r = judgeCodecs(sendonly, OFFER);
    expect(lines(r).at(-1)).toBe("fail answer: endpoint sent an unusable SDP answer: the video section is not recvonly — the server's answer does not fit the offer; its logs should say why");
    expect(r.error?.code).toBe("refused");
  });
});
