import type { RtcpPacket, RtpHeader, RtpPacket, RTCRtpSender } from "werift";
import type { IceConnectionInternals } from "./udp-route.ts";

/**
 * The parts of werift's RTCRtpSender (0.25) that whipcast reaches into, in one typed place.
 * Three werift behaviours are replaced, per sender (see sender-pipeline.ts):
 *  - its Sender Report loop, which pairs the *send* time with the last RTP timestamp (lip sync
 *    needs the capture time; see sender-reports.ts);
 *  - its NACK answer, which keeps only 128 packets and bypasses any pacing;
 *  - its per-packet send path: whipcast stamps the transport-wide sequence number when the pacer
 *    releases a packet, encrypts it and writes it itself.
 */
export interface SenderInternals {
  ssrc: number;
  rtxSsrc: number;
  rtxPayloadType: number | undefined;
  rtxSequenceNumber: number;
  cname: string | undefined;
  packetCount: number;
  octetCount: number;
  headerBytesSent: number;
  nackCount: number;
  retransmittedPacketsSent: number;
  retransmittedBytesSent: number;
  lastSRtimestamp: number | undefined;
  lastSentSRTimestamp: number | undefined;
  rtpCache: (RtpPacket | undefined)[];
  stopped: boolean;
  codec: { payloadType: number } | undefined;
  pendingRtpEnabled: boolean;
  rtpContinuityPending: boolean;
  /** The negotiated header extensions (RFC 8285), each with its id in this session. */
  headerExtensions: { id: number; uri: string }[];
  redRedundantPayloadType: number | undefined;
  timestampOffset: number;
  seqOffset: number;
  timestamp: number | undefined;
  sequenceNumber: number | undefined;
  rtpTimestamp: number;
  dtlsTransport:
    | {
        state: string;
        srtp: { encrypt(payload: Buffer, header: RtpHeader): Buffer };
        srtcp?: { decrypt: (data: Buffer) => Buffer };
        bytesSent: number;
        packetsSent: number;
        iceTransport: { connection: IceConnectionInternals };
        sendRtp(payload: Buffer, header: RtpHeader): Promise<number>;
        sendRtcp(packets: RtcpPacket[]): Promise<unknown>;
      }
    | undefined;
  runRtcp: () => Promise<void>;
  handleRtcpPacket: (packet: RtcpPacket) => void;
  onGenericNack: { execute(...args: unknown[]): void };
}

/** werift's history ring size; a sent packet is readable at rtpCache[seq % this] until overwritten. */
export const WERIFT_RTP_CACHE_SIZE = 128;

export function internals(sender: RTCRtpSender): SenderInternals {
  return sender as unknown as SenderInternals;
}
