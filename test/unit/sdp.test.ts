import { describe, expect, test } from "bun:test";
import { checkAnswer, shapeWhipOffer, splitSections, withRrtr } from "../../src/whip/sdp.ts";
import { PacketHistory, historyCapacity } from "../../src/rtp/packet-history.ts";
import { StartupBuffer } from "../../src/whip/startup-buffer.ts";

const OFFER = [
  "v=0", "o=- 1 0 IN IP4 0.0.0.0", "s=-", "t=0 0", "a=group:BUNDLE 0 1",
  "m=video 9 UDP/TLS/RTP/SAVPF 96 97", "c=IN IP4 0.0.0.0", "a=mid:0", "a=sendrecv", "a=rtcp-mux", "a=ice-ufrag:u", "a=ice-pwd:p", "a=fingerprint:sha-256 AA", "a=rtpmap:96 H264/90000",
  "m=audio 9 UDP/TLS/RTP/SAVPF 111", "c=IN IP4 0.0.0.0", "a=mid:1", "a=sendonly", "a=rtcp-mux", "a=ice-ufrag:u", "a=ice-pwd:p", "a=fingerprint:sha-256 AA", "a=rtpmap:111 opus/48000/2",
].join("\r\n") + "\r\n";

const answer = (edit: (lines: string[]) => string[] = (l) => l) =>
  edit([
    "v=0", "o=- 2 0 IN IP4 127.0.0.1", "s=-", "t=0 0", "a=group:BUNDLE 0 1", "a=ice-ufrag:r", "a=ice-pwd:q", "a=fingerprint:sha-256 BB",
    "m=video 9 UDP/TLS/RTP/SAVPF 96", "a=mid:0", "a=recvonly", "a=rtcp-mux", "a=rtpmap:96 H264/90000",
    "m=audio 9 UDP/TLS/RTP/SAVPF 111", "a=mid:1", "a=recvonly", "a=rtcp-mux", "a=rtpmap:111 opus/48000/2",
  ]).join("\r\n") + "\r\n";

describe("WHIP offer shaping", () => {
  test("every section sendonly with rtcp-mux-only right after rtcp-mux", () => {
    const { media } = splitSections(shapeWhipOffer(OFFER));
    for (const section of media) {
      expect(section).toContain("a=sendonly");
      expect(section).not.toContain("a=sendrecv");
      expect(section[section.indexOf("a=rtcp-mux") + 1]).toBe("a=rtcp-mux-only");
    }
  });
  test("idempotent", () => {
    expect(shapeWhipOffer(shapeWhipOffer(OFFER))).toBe(shapeWhipOffer(OFFER));
  });
});

describe("rrtr in a relay answer", () => {
  const viewerAnswer = [
    "v=0", "o=- 2 0 IN IP4 127.0.0.1", "s=-", "t=0 0", "a=group:BUNDLE 0 1",
    "m=video 9 UDP/TLS/RTP/SAVPF 102 103", "a=mid:0", "a=sendonly", "a=rtpmap:102 H264/90000", "a=rtcp-fb:102 nack", "a=rtcp-fb:102 nack pli", "a=fmtp:102 packetization-mode=1", "a=rtpmap:103 rtx/90000", "a=fmtp:103 apt=102",
    "m=audio 9 UDP/TLS/RTP/SAVPF 111", "a=mid:1", "a=sendonly", "a=rtpmap:111 opus/48000/2", "a=fmtp:111 minptime=10",
    "m=application 9 UDP/DTLS/SCTP webrtc-datachannel", "a=mid:2",
  ].join("\r\n") + "\r\n";
  test("after each media codec's last rtcp-fb line (or its rtpmap); not for RTX, not outside audio and video", () => {
    const { media } = splitSections(withRrtr(viewerAnswer));
    expect(media[0]).toEqual(["m=video 9 UDP/TLS/RTP/SAVPF 102 103", "a=mid:0", "a=sendonly", "a=rtpmap:102 H264/90000", "a=rtcp-fb:102 nack", "a=rtcp-fb:102 nack pli", "a=rtcp-fb:102 rrtr", "a=fmtp:102 packetization-mode=1", "a=rtpmap:103 rtx/90000", "a=fmtp:103 apt=102"]);
    expect(media[1]).toEqual(["m=audio 9 UDP/TLS/RTP/SAVPF 111", "a=mid:1", "a=sendonly", "a=rtpmap:111 opus/48000/2", "a=rtcp-fb:111 rrtr", "a=fmtp:111 minptime=10"]);
    expect(media[2]).toEqual(["m=application 9 UDP/DTLS/SCTP webrtc-datachannel", "a=mid:2"]);
  });
  test("idempotent", () => {
    expect(withRrtr(withRrtr(viewerAnswer))).toBe(withRrtr(viewerAnswer));
  });
});

describe("answer checks", () => {
  test("a usable answer passes", () => {
    expect(checkAnswer(answer(), OFFER)).toBeUndefined();
  });
  test.each([
    ["not SDP", () => "<html>oops</html>", "v=0"],
    ["no media", () => "v=0\r\no=- 1 1 IN IP4 0.0.0.0\r\n", "no m= sections"],
    ["one section missing", () => answer((l) => l.slice(0, 13)), "1 m= sections for the offer's 2"],
    ["rejected track", () => answer((l) => l.map((x) => x.replace("m=audio 9", "m=audio 0"))), "port 0"],
    ["no fingerprint", () => answer((l) => l.filter((x) => !x.startsWith("a=fingerprint"))), "fingerprint"],
    ["no ICE", () => answer((l) => l.filter((x) => !x.startsWith("a=ice-pwd"))), "ICE credentials"],
    ["swapped kinds", () => answer((l) => l.map((x) => x.replace("m=video", "m=xxx").replace("m=audio", "m=video").replace("m=xxx", "m=audio"))), "the offer's is video"],
    ["sending back", () => answer((l) => l.map((x) => (x === "a=recvonly" ? "a=sendrecv" : x))), "not recvonly"],
  ])("%s", (_name, make, message) => {
    expect(checkAnswer(make(), OFFER)).toContain(message);
  });
});

describe("NACK history", () => {
  test("answers only for the exact sequence number, across the u16 wrap", () => {
    const h = new PacketHistory<string>(1024);
    for (const seq of [65534, 65535, 0, 1]) h.put(seq, `p${seq}`);
    expect([65534, 65535, 0, 1].map((s) => h.get(s))).toEqual(["p65534", "p65535", "p0", "p1"]);
    h.put(1 + 1024, "newer");
    expect(h.get(1)).toBeUndefined();
    expect(h.get(1025)).toBe("newer");
  });
  test("capacity covers at least the asked seconds at the bitrate", () => {
    for (const bitrate of [500_000, 2_500_000, 8_000_000, 20_000_000]) {
      const cap = historyCapacity(bitrate, 1, 1166);
      // Even if every packet were full-size, the ring holds ≥ 1 s.
      expect(cap * 1166 * 8).toBeGreaterThanOrEqual(bitrate);
    }
    expect(() => new PacketHistory(1000)).toThrow("power of two");
  });
});

describe("startup buffer", () => {
  const v = (keyframe: boolean, bytes = 10) => ({ kind: "video" as const, keyframe, bytes });
  const a = (bytes = 1) => ({ kind: "audio" as const, keyframe: true, bytes });
  test("holds everything in order while under budget", () => {
    const b = new StartupBuffer(1000);
    const items = [v(true), a(), v(false), a(), v(false)];
    items.forEach((i) => b.push(i));
    expect(b.drain()).toEqual(items);
    expect(b.size).toBe(0);
  });
  test("over budget it drops from the front up to the next keyframe", () => {
    const b = new StartupBuffer(45);
    const items = [v(true), v(false), a(), v(true), v(false), a(), v(false)];
    items.forEach((i) => b.push(i));
    const out = b.drain();
    expect(out[0]).toEqual(v(true));
    expect(out).toEqual(items.slice(3));
  });
  test("video before the first keyframe is never held", () => {
    const b = new StartupBuffer(1000);
    b.push(v(false));
    b.push(a());
    b.push(v(true));
    expect(b.drain()).toEqual([a(), v(true)]);
  });
});
