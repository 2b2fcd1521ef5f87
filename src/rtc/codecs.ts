import { type RTCRtpHeaderExtensionParameters, RTCRtpCodecParameters, useH264, useNACK, useOPUS, usePLI, useREMB, useTransportWideCC, useTWCC } from "werift";

/**
 * The codecs whipcast negotiates, as publisher and as relay: H.264 Constrained Baseline in
 * packetization-mode 1 with NACK, PLI, RTX, transport-wide CC and REMB (what Cloudflare Stream
 * and every browser take), and Opus with in-band FEC and transport-wide CC. Fresh objects per peer: werift assigns payload types onto them.
 */
export function whipCodecs(): { video: RTCRtpCodecParameters[]; audio: RTCRtpCodecParameters[] } {
  return {
    video: [
      useH264({ rtcpFeedback: [useNACK(), usePLI(), useTWCC(), useREMB()], parameters: "profile-level-id=42e01f;packetization-mode=1;level-asymmetry-allowed=1" }),
      new RTCRtpCodecParameters({ mimeType: "video/rtx", clockRate: 90_000 }),
    ],
    audio: [useOPUS({ parameters: "minptime=10;useinbandfec=1", rtcpFeedback: [useTWCC()] })],
  };
}

/**
 * The header extensions whipcast offers: transport-wide-cc on audio and video, with one id for
 * both. Bundled m-sections share one transport, and receivers (libwebrtc) parse its extensions
 * with one map, so the same URI must have the same id in each (RFC 8843 §9.2). werift numbers
 * the entries of both lists in turn (audio first) onto the objects themselves; one shared object
 * therefore ends with one id.
 */
export function bundledHeaderExtensions(): { video: RTCRtpHeaderExtensionParameters[]; audio: RTCRtpHeaderExtensionParameters[] } {
  const transportCc = useTransportWideCC();
  return { video: [transportCc], audio: [transportCc] };
}
