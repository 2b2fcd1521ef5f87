import { RTCRtpCodecParameters, RTCRtpHeaderExtensionParameters, useH264, useNACK, useOPUS, usePLI, useREMB, useTransportWideCC, useTWCC } from "werift";
import { ABS_CAPTURE_TIME_URI, PLAYOUT_DELAY_URI } from "../rtp/header-extensions.ts";

/**
 * RTCP XR reference time reports (RFC 3611 §4.4; `rrtr` in libwebrtc's rtcp-fb list): a receiver
 * that sends none of its own media learns its round trip from the DLRR replies, which libwebrtc
 * needs before it will tie RTP time to its own clock (rVFC `captureTime`, estimatedPlayoutTimestamp).
 */
const RRTR = { type: "rrtr" };

/** The H.264 profile whipcast offers: Constrained Baseline, level 3.1 (RFC 6184 §8.1). */
export const OFFERED_H264_PROFILE = "42e01f";

/**
 * The codecs whipcast negotiates, as publisher and as relay: H.264 Constrained Baseline in
 * packetization-mode 1 with NACK, PLI, RTX, transport-wide CC, REMB and RRTR (what Cloudflare
 * Stream and every browser take), and Opus with in-band FEC, transport-wide CC and RRTR. Fresh
 * objects per peer: werift assigns payload types onto them.
 */
export function whipCodecs(): { video: RTCRtpCodecParameters[]; audio: RTCRtpCodecParameters[] } {
  return {
    video: [
      useH264({ rtcpFeedback: [useNACK(), usePLI(), useTWCC(), useREMB(), RRTR], parameters: `profile-level-id=${OFFERED_H264_PROFILE};packetization-mode=1;level-asymmetry-allowed=1` }),
      new RTCRtpCodecParameters({ mimeType: "video/rtx", clockRate: 90_000 }),
    ],
    audio: [useOPUS({ parameters: "minptime=10;useinbandfec=1", rtcpFeedback: [useTWCC(), RRTR] })],
  };
}

/**
 * What whipcast asks receivers' jitter buffers for (playout-delay). For video alone on a clear
 * path (the estimate at the ceiling): render each frame as soon as it is decoded (libwebrtc's
 * low-latency renderer runs when the minimum is 0 and the maximum at most 500 ms). Otherwise the
 * receiver's own default, 0–10 s:
 * - while the path limits the rate, frames arrive in bursts, and rendered at once they read as
 *   freezes;
 * - with audio, Chromium's low-latency renderer loses lip sync: its own A/V estimate went to
 *   −16 and −48 ms in two lip-sync runs, against −13 and −4.5 ms without the element.
 */
export const PLAYOUT_DELAY = { minMs: 0, maxMs: 500 };
export const PLAYOUT_DELAY_SMOOTH = { minMs: 0, maxMs: 10_000 };

/**
 * The header extensions whipcast offers:
 * - transport-wide-cc on audio and video (congestion control);
 * - abs-capture-time on both, so a receiver knows when each frame and sample was captured
 *   (glass-to-glass delay, and audio/video sync through a mixer);
 * - playout-delay on video, to ask for rendering without a smoothing delay.
 *
 * A URI has one id in both sections. Bundled m-sections share one transport, and receivers
 * (libwebrtc) parse its extensions with one map, so the same URI must have the same id in each
 * (RFC 8843 §9.2). werift numbers the entries of both lists in turn (audio first) onto the
 * objects themselves; one shared object therefore ends with one id. A receiver that does not
 * take an extension leaves it out of its answer, and whipcast then never writes it.
 */
export function bundledHeaderExtensions(): { video: RTCRtpHeaderExtensionParameters[]; audio: RTCRtpHeaderExtensionParameters[] } {
  const transportCc = useTransportWideCC();
  const captureTime = new RTCRtpHeaderExtensionParameters({ uri: ABS_CAPTURE_TIME_URI });
  const playoutDelay = new RTCRtpHeaderExtensionParameters({ uri: PLAYOUT_DELAY_URI });
  return { video: [transportCc, captureTime, playoutDelay], audio: [transportCc, captureTime] };
}
