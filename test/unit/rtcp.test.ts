import { describe, expect, test } from "bun:test";
import { GenericNack, type RtcpPacket, RtcpSrPacket, RtcpTransportLayerFeedback, RtpHeader, RtpPacket } from "werift";
import { compactNtp, ntpFromUnixNs } from "../../src/rtp/ntp.ts";
import { RtpClock } from "../../src/rtp/rtp-clock.ts";
import { NackResponder } from "../../src/rtc/nack-responder.ts";
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

describe("NACK → RTX (RFC 4585 §6.2.1, RFC 4588 §4)", () => {
  test("lost packets are resent from the history on the RTX SSRC, RTX sequence wrapping", async () => {
    const f = fakeSender();
    const nack = new NackResponder(f.sender, 1024);
    for (const seq of [65534, 65535, 0, 1]) {
      const packet = new RtpPacket(new RtpHeader({ sequenceNumber: seq, timestamp: 9000, payloadType: 96, ssrc: 0x1111 }), Buffer.from([seq & 0xff, 1, 2, 3]));
      f.sender.rtpCache[seq % 128] = packet;
      nack.recordSent(seq);
    }
    const feedback = new RtcpTransportLayerFeedback({ feedback: new GenericNack({ senderSsrc: 1, mediaSourceSsrc: 0x1111, lost: [65535, 0, 42] }) });
    f.sender.handleRtcpPacket(feedback);
    await Bun.sleep(10);
    expect(f.rtp.map((p) => [p.header.ssrc, p.header.payloadType, p.header.sequenceNumber])).toEqual([
      [0x2222, 97, 65535],
      [0x2222, 97, 0],
    ]);
    // RTX payload = original sequence number (2 bytes) + original payload.
    expect([...f.rtp[0]!.payload]).toEqual([0xff, 0xff, 0xff, 1, 2, 3]);
    expect([...f.rtp[1]!.payload]).toEqual([0x00, 0x00, 0x00, 1, 2, 3]);
    expect([f.sender.nackCount, f.sender.retransmittedPacketsSent, f.nacks.length]).toEqual([1, 2, 1]);
    // Other RTCP still reaches werift.
    const sr = new RtcpSrPacket({ ssrc: 5 } as ConstructorParameters<typeof RtcpSrPacket>[0]);
    f.sender.handleRtcpPacket(sr);
    expect(f.passedThrough).toEqual([sr]);
  });
});
