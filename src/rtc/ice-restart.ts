import { candidateFromSdp, candidateToSdp, type RTCIceTransport, RTCIceParameters } from "werift";
import { buildSdpFrag, type IceFragment } from "../whip/sdpfrag.ts";

/**
 * The two halves of an ICE restart (RFC 8445 §9) on a werift ICE transport, shared by the
 * publisher (controlling, offers) and the relay (controlled, answers). werift's own restart
 * path (createOffer({iceRestart})) drops the pair but never starts the new checks while DTLS
 * is up (its connect() returns early), so whipcast drives the transport with these.
 */

/** This side's credentials and every gathered candidate, as an sdpfrag. */
export function localFragment(ice: RTCIceTransport, mid: string, mline?: string): string {
  const local = ice.localParameters;
  return buildSdpFrag({ ufrag: local.usernameFragment, pwd: local.password, mid, ...(mline ? { mline } : {}), candidates: ice.localCandidates.map((c) => candidateToSdp(c)) });
}

/**
 * Take the other side's new credentials and candidates; `endOfCandidates` lets checks fail
 * fast. Credentials already set are not set again (werift would start yet another generation).
 */
export async function applyRemoteFragment(ice: RTCIceTransport, frag: IceFragment & { ufrag: string; pwd: string }, endOfCandidates: boolean): Promise<void> {
  if (ice.connection.remoteUsername !== frag.ufrag || ice.connection.remotePassword !== frag.pwd) {
    ice.setRemoteParams(new RTCIceParameters({ usernameFragment: frag.ufrag, password: frag.pwd, iceLite: false }));
  }
  for (const candidate of frag.candidates) await ice.addRemoteCandidate(candidateFromSdp(candidate.replace(/^candidate:/, "")));
  if (endOfCandidates) await ice.addRemoteCandidate(undefined);
}
