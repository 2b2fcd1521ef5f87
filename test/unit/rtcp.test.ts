import { describe, expect, test } from "bun:test";
import { type RtcpPacket, RtcpSrPacket, type RtpHeader } from "werift";
import { compactNtp, ntpFromUnixNs } from "../../src/rtp/ntp.ts";
import { RtpClock } from "../../src/rtp/rtp-clock.ts";
import type { SenderInternals } from "../../src/rtc/sender-internals.ts";
import { CaptureClockSenderReports } from "../../src/rtc/sender-reports.ts";
import { ReferenceTimeReplies } from "../../src/rtp/reference-time-replies.ts";
import { buildDlrr, parseRtcpFeedback } from "../../src/rtp/rtcp-feedback.ts";

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

describe("RTCP XR reference time (RFC 3611 §4.4–4.5)", () => {
  /** An XR packet from `ssrc` with a VoIP-metrics-like block of another type first, then an RRTR. */
  const xr = (ssrc: number, ntp: bigint) => {
    const out = new Uint8Array(8 + 8 + 12);
    const v = new DataView(out.buffer);
    out[0] = 0x80;
    out[1] = 207;
    v.setUint16(2, out.length / 4 - 1);
    v.setUint32(4, ssrc);
    out[8] = 7; // another block type, one word of content: skipped
    v.setUint16(10, 1);
    out[16] = 4; // RRTR
    v.setUint16(18, 2);
    v.setBigUint64(20, ntp);
    return out;
  };

  test("an RRTR is read out of an XR packet, past blocks of other types", () => {
    const ntp = ntpFromUnixNs(1_796_190_000_123_000_000n);
    expect(parseRtcpFeedback(xr(0x1234, ntp))).toEqual([{ type: "rrtr", senderSsrc: 0x1234, ntp }]);
  });

  test("a DLRR block's bytes: header (6 words: length 5), sender, block type 5, 3 words per receiver", () => {
    const bytes = buildDlrr(0xaabbccdd, [{ ssrc: 1, lastRr: 0x01020304, delaySinceLastRr: 65_536 }]);
    expect(Buffer.from(bytes).toString("hex")).toBe("80cf0005" + "aabbccdd" + "05000003" + "00000001" + "01020304" + "00010000");
  });

  test("each receiver's newest RRTR is answered once, with the delay it was held in 1/65536 s", () => {
    const replies = new ReferenceTimeReplies();
    const ntp = ntpFromUnixNs(1_796_190_000_000_000_000n);
    replies.received(7, ntp - 1_000_000n, 1_000_000_000n);
    replies.received(7, ntp, 2_000_000_000n); // the newer one wins
    replies.received(9, ntp, 2_000_000_000n);
    expect(replies.take(2_500_000_000n)).toEqual([
      { ssrc: 7, lastRr: compactNtp(ntp), delaySinceLastRr: 32_768 },
      { ssrc: 9, lastRr: compactNtp(ntp), delaySinceLastRr: 32_768 },
    ]);
    expect(replies.take(3_000_000_000n)).toEqual([]);
  });

  test("the next Sender Report carries the replies as an XR packet after the SR", async () => {
    const { sender, rtcp } = fakeSender();
    const items = [{ ssrc: 5, lastRr: 0x0a0b0c0d, delaySinceLastRr: 100 }];
    let asked = 0;
    const reports = new CaptureClockSenderReports(sender as unknown as SenderInternals, () => new RtpClock(90_000, 0n, 0), () => 1_000_000_000n, () => (asked++ === 0 ? items : []));
    reports.onPacketSent();
    await Bun.sleep(10);
    reports.stop();
    const serialized = rtcp[0]!.map((p) => p.serialize());
    expect(Buffer.concat(serialized).includes(Buffer.from(buildDlrr(sender.ssrc, items)))).toBe(true);
  });
});
