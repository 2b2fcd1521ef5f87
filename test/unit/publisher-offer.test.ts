import { describe, expect, test } from "bun:test";
import { PublisherPeer } from "../../src/rtc/publisher-peer.ts";
import { TRANSPORT_CC_URI } from "../../src/rtp/header-extensions.ts";
import { splitSections } from "../../src/whip/sdp.ts";
import { startStunServer } from "../helpers/stun-server.ts";

describe("the publisher's offer negotiates transport-wide congestion control", () => {
  test("transport-cc on both bundled m-sections with one extension id, and transport-cc / goog-remb feedback", async () => {
    // A local STUN server keeps werift from querying its default public one.
    const stun = await startStunServer();
    const peer = new PublisherPeer({ video: true, audio: true, videoBitrate: 2_500_000, startVideoBitrate: 1_000_000, audioBitrate: 128_000, adapt: true, minVideoBitrate: 150_000, iceServers: [{ urls: stun.url }], loopbackCandidates: true });
    try {
      const { media } = splitSections(await peer.createOffer());
      const ids = media.map((section) => section.find((l) => l.endsWith(` ${TRANSPORT_CC_URI}`))?.match(/^a=extmap:(\d+)/)?.[1]);
      expect(ids).toHaveLength(2);
      expect(ids[0]).toBeDefined();
      expect(ids[1]).toBe(ids[0]); // RFC 8843 §9.2: one id per URI across a BUNDLE group
      const video = media.find((m) => m[0]!.startsWith("m=video"))!;
      const audio = media.find((m) => m[0]!.startsWith("m=audio"))!;
      expect(video.some((l) => / transport-cc$/.test(l) && l.startsWith("a=rtcp-fb:"))).toBe(true);
      expect(video.some((l) => / goog-remb$/.test(l))).toBe(true);
      expect(audio.some((l) => / transport-cc$/.test(l) && l.startsWith("a=rtcp-fb:"))).toBe(true);
    } finally {
      await peer.close();
      stun.close();
    }
  });
});
