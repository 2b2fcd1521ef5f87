import type { PeerConfig } from "werift";
import { bundledHeaderExtensions, whipCodecs } from "./codecs.ts";
import type { IceServer } from "../whip/link-header.ts";

/**
 * The relay's peers, publishers and viewers alike: whipcast's own codec set (one per kind; the
 * relay never transcodes, so both sides must agree on it), max-bundle, and the transport-wide-cc
 * header extension: publishers get TWCC feedback (TwccResponder), viewers' packets carry it.
 */
export function relayPeerConfig(iceServers: IceServer[], loopback: boolean): Partial<PeerConfig> {
  return {
    bundlePolicy: "max-bundle",
    iceServers,
    iceAdditionalHostAddresses: loopback ? ["127.0.0.1"] : undefined,
    codecs: whipCodecs(),
    headerExtensions: bundledHeaderExtensions(),
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
