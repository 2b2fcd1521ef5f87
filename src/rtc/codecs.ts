import { RTCRtpCodecParameters, useH264, useNACK, useOPUS, usePLI } from "werift";

/**
 * The codecs whipcast negotiates, as publisher and as relay: H.264 Constrained Baseline in
 * packetization-mode 1 with NACK, PLI and RTX (what Cloudflare Stream and every browser take),
 * and Opus with in-band FEC. Fresh objects per peer: werift assigns payload types onto them.
 */
export function whipCodecs(): { video: RTCRtpCodecParameters[]; audio: RTCRtpCodecParameters[] } {
  return {
    video: [
      useH264({ rtcpFeedback: [useNACK(), usePLI()], parameters: "profile-level-id=42e01f;packetization-mode=1;level-asymmetry-allowed=1" }),
      new RTCRtpCodecParameters({ mimeType: "video/rtx", clockRate: 90_000 }),
    ],
    audio: [useOPUS({ parameters: "minptime=10;useinbandfec=1" })],
  };
}
