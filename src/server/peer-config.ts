import { type PeerConfig, RTCRtpCodecParameters, useH264, useNACK, useOPUS, usePLI } from "werift";
import type { IceServer } from "../whip/link-header.ts";

/**
 * What the relay negotiates, with publishers and viewers alike: H.264 Constrained Baseline in
 * packetization-mode 1 with RTX, and Opus. The relay never transcodes, so both sides must agree
 * on the one codec per kind; this is the set every WebRTC browser decodes.
 */
export function relayPeerConfig(iceServers: IceServer[], loopback: boolean): Partial<PeerConfig> {
  return {
    bundlePolicy: "max-bundle",
    iceServers,
    iceAdditionalHostAddresses: loopback ? ["127.0.0.1"] : undefined,
    codecs: {
      video: [
        useH264({ rtcpFeedback: [useNACK(), usePLI()], parameters: "profile-level-id=42e01f;packetization-mode=1;level-asymmetry-allowed=1" }),
        new RTCRtpCodecParameters({ mimeType: "video/rtx", clockRate: 90_000 }),
      ],
      audio: [useOPUS({ parameters: "minptime=10;useinbandfec=1" })],
    },
    headerExtensions: { video: [], audio: [] },
  };
}

/** RFC 8829 / SDP sanity an offer must pass before werift sees it; returns the problem, if any. */
export function offerProblem(sdp: string): string | undefined {
  if (!/^v=0\r?$/m.test(sdp.split("\n")[0] ?? "")) return "it does not start with v=0";
  if (!/^m=(audio|video) /m.test(sdp)) return "it has no audio or video m-line";
  if (!/^a=ice-ufrag:/m.test(sdp) || !/^a=ice-pwd:/m.test(sdp)) return "it has no ICE credentials";
  if (!/^a=fingerprint:/m.test(sdp)) return "it has no DTLS fingerprint";
  return undefined;
}
