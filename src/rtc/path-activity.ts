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
