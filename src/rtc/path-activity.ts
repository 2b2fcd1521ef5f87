import type { RTCPeerConnection } from "werift";
import type { PathActivity } from "../whip/liveness.ts";
import { unreachableCount } from "./udp-sockets.ts";

/** The counters of werift's (0.25) ICE candidate pair that show the remote side is there. */
interface PairCounters {
  packetsReceived: number;
  responsesReceived: number;
  requestsReceived: number;
}

interface ConnectionPairs {
  nominated?: PairCounters;
}

/**
 * What has arrived from the remote peer so far, for the liveness judge (src/whip/liveness.ts):
 * datagrams on the selected pair (SRTP, SRTCP, DTLS), answers to our consent checks and the
 * remote's own checks, plus the steady-traffic count the caller keeps (RTCP, or media) and the
 * kernel's ICMP reports.
 */
export function pathActivity(pc: RTCPeerConnection, steady: number): PathActivity {
  let received = 0;
  for (const transport of pc.iceTransports) {
    const pair = (transport.connection as unknown as ConnectionPairs).nominated;
    if (pair) received += pair.packetsReceived + pair.responsesReceived + pair.requestsReceived;
  }
  return { received: received + steady, steady, unreachable: unreachableCount(pc), state: pc.connectionState };
}

/** One end of the selected pair, as `whipcast check` shows it. */
export interface PairEnd {
  type: string;
  address: string;
  port: number;
  protocol: string;
}

/** werift's (0.25) CandidatePair: its candidates and its STUN round-trip measurements (seconds). */
interface NominatedPair {
  localCandidate: { type: string; host: string; port: number; transport: string };
  remoteCandidate: { type: string; host: string; port: number; transport: string };
  rtt?: number;
  totalRoundTripTime: number;
  roundTripTimeMeasurements: number;
}

/** The selected (nominated) candidate pair and its mean STUN RTT, once ICE has connected. */
export function selectedPair(pc: RTCPeerConnection): { local: PairEnd; remote: PairEnd; rttMs: number | undefined } | undefined {
  const pair = (pc.iceTransports[0]?.connection as unknown as { nominated?: NominatedPair } | undefined)?.nominated;
  if (!pair) return undefined;
  const end = (c: NominatedPair["localCandidate"]): PairEnd => ({ type: c.type, address: c.host, port: c.port, protocol: c.transport.toLowerCase() });
  const rttSeconds = pair.roundTripTimeMeasurements > 0 ? pair.totalRoundTripTime / pair.roundTripTimeMeasurements : pair.rtt;
  return { local: end(pair.localCandidate), remote: end(pair.remoteCandidate), rttMs: rttSeconds === undefined ? undefined : rttSeconds * 1000 };
}

/**
 * Whether ICE settled on a pair whose local socket is closed. After an ICE restart the old
 * sockets are closed (udp-sockets.ts, detachHostSockets), but the checks of an earlier attempt
 * that did not finish in time can still answer once the path is back, and werift may then
 * nominate their pair: RTCP keeps arriving on the new socket, while everything sent goes to a
 * closed one and is lost. Such a session must be restarted again.
 */
export function nominatedSocketClosed(pc: RTCPeerConnection): boolean {
  for (const transport of pc.iceTransports) {
    const pair = (transport.connection as unknown as { nominated?: { protocol?: { transport?: { closed?: boolean } } } }).nominated;
    if (pair?.protocol?.transport?.closed === true) return true;
  }
  return false;
}
