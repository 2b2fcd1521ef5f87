import { describe, expect, test } from "bun:test";
import { type RtcpPacket, RtcpSrPacket, type RtpHeader } from "werift";
import { compactNtp, ntpFromUnixNs } from "../../src/rtp/ntp.ts";
import { RtpClock } from "../../src/rtp/rtp-clock.ts";
import type { SenderInternals } from "../../src/rtc/sender-internals.ts";
import { CaptureClockSenderReports } from "../../src/rtc/sender-reports.ts";

function fakeSender() {
  const rtcp: RtcpPacket[][] = [];
  const rtp: { payload: Buffer; header: RtpHeader }[] = [];
  const nacks: unknown[] = [];
  const passedThrough: RtcpPacket[] = [];
  const sender: SenderInternals = {
    ssrc: 0x1111, rtxSsrc: 0x2222, rtxPayloadType: 97, rtxSequenceNumber: 65535, cname: "cname",
    packetCount: 10, octetCount: 1000, headerBytesSent: 0, nackCount: 0, retransmittedPacketsSent: 0, retransmittedBytesSent: 0,
    lastSRtimestamp: undefined, lastSentSRTimestamp: undefined, rtpCache: [],
    stopped: false, codec: { payloadType: 96 }, pendingRtpEnabled: false, rtpContinuityPending: false, headerExtensions: [], redRedundantPayloadType: undefined,
    timestampOffset: 0, seqOffset: 0, timestamp: undefined, sequenceNumber: undefined, rtpTimestamp: 0,
    dtlsTransport: {
      state: "connected",
      srtp: { encrypt: (payload) => payload },
      bytesSent: 0,
      packetsSent: 0,
      iceTransport: { connection: { canSendApplicationData: () => false, send: async () => {} } },
      async sendRtp(payload, header) { rtp.push({ payload, header }); return payload.length; },
      async sendRtcp(packets) { rtcp.push(packets); },
    },
    runRtcp: async () => { throw new Error("werift's own SR loop must not run"); },
    handleRtcpPacket: (p) => void passedThrough.push(p),
    onGenericNack: { execute: (...args: unknown[]) => void nacks.push(args) },
  };
  return { sender, rtcp, rtp, nacks, passedThrough };
}

describe("capture-clock Sender Reports (RFC 3550 §6.4.1)", () => {
  test("NTP and RTP time describe the same capture instant, for audio and video alike", async () => {
    const start = 1_700_000_000_000_000_000n;
    const now = start + 2_500_000_000n;
    const video = new RtpClock(90_000, start, 1000);
    const audio = new RtpClock(48_000, start, 5);
    const v = fakeSender();
    const a = fakeSender();
    const vr = new CaptureClockSenderReports(v.sender, () => video, () => now);
    const ar = new CaptureClockSenderReports(a.sender, () => audio, () => now);
    await v.sender.runRtcp(); // replaced: a no-op now
    vr.onPacketSent();
    ar.onPacketSent();
    vr.onPacketSent(); // only the first packet starts the schedule
    await Bun.sleep(10);
    vr.stop();
    ar.stop();
    const vsr = v.rtcp[0]![0] as RtcpSrPacket;
    const asr = a.rtcp[0]![0] as RtcpSrPacket;
    expect(v.rtcp).toHaveLength(1);
    expect(vsr.senderInfo.ntpTimestamp).toBe(ntpFromUnixNs(now));
    expect(asr.senderInfo.ntpTimestamp).toBe(ntpFromUnixNs(now));
    expect(vsr.senderInfo.rtpTimestamp).toBe(1000 + 225_000);
    expect(asr.senderInfo.rtpTimestamp).toBe(5 + 120_000);
    expect([vsr.ssrc, vsr.senderInfo.packetCount, vsr.senderInfo.octetCount]).toEqual([0x1111, 10, 1000]);
    // RTT bookkeeping for werift's receiver-report handling.
    expect(v.sender.lastSRtimestamp).toBe(compactNtp(ntpFromUnixNs(now)));
  });

  test("NTP conversion", () => {
    // 1970-01-01 is NTP second 2208988800; half a second is 2^31 in the fraction.
    expect(ntpFromUnixNs(500_000_000n)).toBe((2_208_988_800n << 32n) | (1n << 31n));
  });
});
