import { afterEach, describe, expect, test } from "bun:test";
import { until } from "../helpers/until.ts";
import { Event, GenericNack, RtcpSenderInfo, RtcpSrPacket, H264Packetizer, OpusPacketizer, RTCRtpCodecParameters, RTCRtpSender, RtcpTransportLayerFeedback, type RtpHeader, RtpPacket } from "werift";
import { BandwidthEstimator } from "../../src/congestion/bandwidth-estimator.ts";
import { buildTwcc } from "../../src/rtp/twcc.ts";
import { SendTransport } from "../../src/rtc/send-transport.ts";
import { SenderPipeline } from "../../src/rtc/sender-pipeline.ts";
import { ABS_CAPTURE_TIME_URI, decodeAbsCaptureTime, decodePlayoutDelay, PLAYOUT_DELAY_URI, TRANSPORT_CC_URI } from "../../src/rtp/header-extensions.ts";
import { internals, type SenderInternals } from "../../src/rtc/sender-internals.ts";
import type { IceConnectionInternals } from "../../src/rtc/udp-route.ts";

/**
 * Real werift senders whose DTLS transport records each datagram as it would go on the wire,
 * with a null cipher: werift's own path through `sendRtp`, the pipeline's through `srtp.encrypt`
 * and the ICE connection (a TURN pair here, so UdpRoute hands every datagram to werift's ICE send).
 */
function sender(kind: "video" | "audio", options: { state?: string; transportCc?: number; extensions?: { id: number; uri: string }[]; dtls?: object; wire?: Buffer[] } = {}) {
  const wire: Buffer[] = options.wire ?? [];
  const plain = (payload: Buffer, header: RtpHeader) => Buffer.concat([header.serialize(header.serializeSize), payload]);
  const connection: IceConnectionInternals = {
    nominated: { remoteAddr: ["127.0.0.1", 9], packetsSent: 0, bytesSent: 0, protocol: { type: "turn" } },
    canSendApplicationData: () => true,
    send: async (datagram) => void wire.push(datagram),
  };
  const s = new RTCRtpSender(kind);
  const srtcp = { decrypt: (data: Buffer) => data };
  const dtls = options.dtls ?? {
    state: options.state ?? "connected",
    onStateChange: new Event(),
    srtp: { encrypt: plain },
    srtcp,
    bytesSent: 0,
    packetsSent: 0,
    iceTransport: { connection },
    async sendRtp(payload: Buffer, header: RtpHeader) {
      wire.push(plain(payload, header));
      return payload.length;
    },
    async sendRtcp() {},
  };
  s.setDtlsTransport(dtls as never);
  const codecs =
    kind === "video"
      ? [new RTCRtpCodecParameters({ mimeType: "video/H264", clockRate: 90_000, payloadType: 102 }), new RTCRtpCodecParameters({ mimeType: "video/rtx", clockRate: 90_000, payloadType: 103, parameters: "apt=102" })]
      : [new RTCRtpCodecParameters({ mimeType: "audio/opus", clockRate: 48_000, channels: 2, payloadType: 111 })];
  const headerExtensions = [...(options.transportCc !== undefined ? [{ id: options.transportCc, uri: TRANSPORT_CC_URI }] : []), ...(options.extensions ?? [])];
  s.prepareSend({ codecs, headerExtensions, rtcp: { cname: "c", ssrc: 0, mux: true }, muxId: "0" } as never);
  return { s, i: internals(s), wire, dtls: dtls as { srtcp: typeof srtcp } };
}

/** An IDR access unit with SPS and PPS (a STAP-A, then FU-A fragments) and a small P-slice one. */
function accessUnits(): Buffer[] {
  const nal = (type: number, size: number) => Buffer.concat([Buffer.from([0, 0, 0, 1, 0x60 | type]), Buffer.alloc(size - 1, type * 7 + 1)]);
  return [Buffer.concat([nal(7, 12), nal(8, 4), nal(5, 9000)]), nal(1, 800)];
}

const books = (i: SenderInternals) => [i.packetCount, i.octetCount, i.headerBytesSent, i.timestamp, i.sequenceNumber, i.rtpTimestamp];
const unpaced = () => new SendTransport({ pacingTargetBps: 1e9 });
const open: { stop(): void }[] = [];
afterEach(() => {
  for (const s of open.splice(0)) s.stop();
});

/** Parse a recorded plain datagram back into a werift packet. */
const parse = (d: Buffer) => RtpPacket.deSerialize(d);

describe("SenderPipeline on real werift senders: werift's bytes and books, paced", () => {
  for (const startSeq of [1000, 65_530]) {
    test(`H.264 from sequence ${startSeq}: the same wire bytes, counts and NACK cache as RTCRtpSender.sendRtp`, async () => {
      const viaWerift = sender("video");
      const direct = sender("video");
      open.push(viaWerift.s, direct.s);
      direct.i.ssrc = viaWerift.i.ssrc;
      const pipeline = new SenderPipeline(direct.i, unpaced(), { kind: "video", historyCapacity: 1024, clock: () => undefined });
      const a = new H264Packetizer({ inputFormat: "annexb", maxPayloadSize: 1166, sequenceNumber: startSeq });
      const b = new H264Packetizer({ inputFormat: "annexb", maxPayloadSize: 1166, sequenceNumber: startSeq });
      let ts = 0xffff_f000; // crosses the u32 wrap too
      for (const au of [...accessUnits(), ...accessUnits()]) {
        ts = (ts + 3000) >>> 0;
        for (const p of a.packetize(au, ts)) await viaWerift.s.sendRtp(p);
        expect(pipeline.ready).toBe(true);
        pipeline.send(b.packetize(au, ts));
      }
      await Bun.sleep(30);
      expect(direct.wire.length).toBeGreaterThan(16);
      expect(direct.wire).toEqual(viaWerift.wire);
      expect(books(direct.i)).toEqual(books(viaWerift.i));
      const cached = (i: SenderInternals) => i.rtpCache.map((p) => p?.header.sequenceNumber);
      expect(cached(direct.i)).toEqual(cached(viaWerift.i));
      pipeline.close();
    });
  }

  test("Opus: the same wire bytes and counts, sent at once (audio is never paced)", async () => {
    const viaWerift = sender("audio");
    const direct = sender("audio");
    open.push(viaWerift.s, direct.s);
    direct.i.ssrc = viaWerift.i.ssrc;
    const pipeline = new SenderPipeline(direct.i, new SendTransport({ pacingTargetBps: 1 }), { kind: "audio", historyCapacity: 0, clock: () => undefined });
    const a = new OpusPacketizer({ maxPayloadSize: 1166, sequenceNumber: 7 });
    const b = new OpusPacketizer({ maxPayloadSize: 1166, sequenceNumber: 7 });
    for (let k = 0; k < 5; k++) {
      const frame = Buffer.alloc(160 + k, k);
      for (const p of a.packetize(frame, k * 960)) await viaWerift.s.sendRtp(p);
      pipeline.send(b.packetize(frame, k * 960));
      expect(direct.wire).toHaveLength(k + 1); // before any timer ran
    }
    expect(direct.wire).toEqual(viaWerift.wire);
    expect(books(direct.i)).toEqual(books(viaWerift.i));
    pipeline.close();
  });

  test("nothing is sent before DTLS is up, or after the sender stopped", async () => {
    const x = sender("video", { state: "connecting" });
    const p = new SenderPipeline(x.i, unpaced(), { kind: "video", historyCapacity: 1024, clock: () => undefined });
    expect(p.ready).toBe(false);
    p.send(new H264Packetizer({ inputFormat: "annexb", maxPayloadSize: 1166 }).packetize(accessUnits()[1]!, 0));
    const y = sender("video");
    const q = new SenderPipeline(y.i, unpaced(), { kind: "video", historyCapacity: 1024, clock: () => undefined });
    y.s.stop();
    expect(q.ready).toBe(false);
    await Bun.sleep(10);
    expect(x.wire.length + y.wire.length).toBe(0);
    x.s.stop();
  });

  test("one transport-wide sequence across audio, video and RTX, stamped in send order (TWCC §2)", async () => {
    const wire: Buffer[] = [];
    const video = sender("video", { transportCc: 5, wire });
    const audio = sender("audio", { transportCc: 5, wire, dtls: (video.s as unknown as { dtlsTransport: object }).dtlsTransport });
    open.push(video.s, audio.s);
    const transport = new SendTransport({ pacingTargetBps: 1e9 });
    const v = new SenderPipeline(video.i, transport, { kind: "video", historyCapacity: 1024, clock: () => undefined });
    const a = new SenderPipeline(audio.i, transport, { kind: "audio", historyCapacity: 0, clock: () => undefined });
    const packets = new H264Packetizer({ inputFormat: "annexb", maxPayloadSize: 1166, sequenceNumber: 100 }).packetize(accessUnits()[0]!, 0);
    v.send(packets);
    a.send(new OpusPacketizer({ maxPayloadSize: 1166 }).packetize(Buffer.alloc(100, 1), 0));
    await Bun.sleep(20);
    // A NACK for the second video packet: an RTX copy, with the next transport sequence number.
    video.i.handleRtcpPacket(new RtcpTransportLayerFeedback({ feedback: new GenericNack({ senderSsrc: 1, mediaSourceSsrc: video.i.ssrc, lost: [101, 9999] }) }));
    await Bun.sleep(20);
    const parsed = wire.map(parse);
    const twcc = parsed.map((p) => p.header.extensions.find((e) => e.id === 5)!.payload.readUInt16BE(0));
    expect(twcc).toEqual(twcc.map((_, i) => i + 1));
    // Audio went first (never queued behind video); the RTX came last, on its own SSRC and PT.
    expect(parsed[0]!.header.ssrc).toBe(audio.i.ssrc);
    const rtx = parsed[parsed.length - 1]!;
    expect([rtx.header.ssrc, rtx.header.payloadType]).toEqual([video.i.rtxSsrc, 103]);
    expect(rtx.payload.readUInt16BE(0)).toBe(101);
    expect(rtx.payload.subarray(2)).toEqual(parsed.find((p) => p.header.ssrc === video.i.ssrc && p.header.sequenceNumber === 101)!.payload);
    expect([video.i.nackCount, video.i.retransmittedPacketsSent, transport.counters.packets.retransmission]).toEqual([1, 1, 1]);
    v.close();
    a.close();
  });

  test("TWCC feedback read from the transport's SRTCP drives the estimator; PLI and FIR are reported", async () => {
    const x = sender("video", { transportCc: 3 });
    open.push(x.s);
    const requests: string[] = [];
    const estimator = new BandwidthEstimator({ minBps: 100_000, maxBps: 2_000_000, startBps: 2_000_000 });
    const transport = new SendTransport({ pacingTargetBps: 2_000_000, estimator, onKeyframeRequest: (ssrc, cause) => requests.push(`${cause}:${ssrc}`) });
    const v = new SenderPipeline(x.i, transport, { kind: "video", historyCapacity: 1024, clock: () => undefined });
    const packetizer = new H264Packetizer({ inputFormat: "annexb", maxPayloadSize: 1166 });
    v.send(packetizer.packetize(accessUnits()[0]!, 0));
    await Bun.sleep(50);
    const sent = x.wire.length;
    expect(transport.log.size).toBe(sent);
    // Every packet reported received 20 ms apart, then a PLI and a FIR in the same compound packet.
    const fb = buildTwcc({ senderSsrc: 9, mediaSsrc: x.i.ssrc, baseSequence: 1, feedbackCount: 0, arrivalsUs: Array.from({ length: sent }, (_, i) => 1_000_000 + i * 20_000) });
    const pli = [0x81, 206, 0, 2, 0, 0, 0, 9, ...u32(x.i.ssrc)];
    const fir = [0x84, 206, 0, 4, 0, 0, 0, 9, 0, 0, 0, 0, ...u32(x.i.ssrc), 1, 0, 0, 0];
    x.dtls.srtcp.decrypt(Buffer.from([...fb, ...pli, ...fir]));
    expect(transport.counters.feedbacks).toBe(1);
    expect(requests).toEqual([`PLI:${x.i.ssrc}`, `FIR:${x.i.ssrc}`]);
    expect(estimator.ackedBps()).toBeGreaterThan(0);
    v.close();
    transport.close();
  });

  test("a keyframe is spread by the pacer; video that waits too long is dropped and a keyframe asked for", async () => {
    const x = sender("video");
    open.push(x.s);
    const requests: string[] = [];
    // 300 kbit/s target: a 9 kB IDR leaves over ~170 ms at 1.5 × the target (450 kbit/s).
    const transport = new SendTransport({ pacingTargetBps: 300_000, onKeyframeRequest: (_, cause) => requests.push(cause) });
    const v = new SenderPipeline(x.i, transport, { kind: "video", historyCapacity: 1024, clock: () => undefined });
    const packetizer = new H264Packetizer({ inputFormat: "annexb", maxPayloadSize: 1166 });
    const idr = packetizer.packetize(accessUnits()[0]!, 0);
    v.send(idr);
    await Bun.sleep(5);
    const early = x.wire.length;
    await Bun.sleep(600);
    expect(early).toBeLessThan(x.wire.length);
    expect(x.wire.length).toBe(idr.length);
    expect(requests).toEqual([]);
    // Now far more than can leave in time: the stale part is dropped, once, with a keyframe request.
    for (let k = 0; k < 40; k++) v.send(packetizer.packetize(accessUnits()[0]!, k * 3000));
    await Bun.sleep(900);
    expect(requests).toContain("queue stale");
    expect(transport.counters.staleDropped).toBeGreaterThan(0);
    v.close();
    transport.close();
  });

  test("a relay viewer's transport (dropStaleVideo false) sends everything it queued, however late, and asks for no keyframe", async () => {
    const x = sender("video");
    open.push(x.s);
    const requests: string[] = [];
    const transport = new SendTransport({ pacingTargetBps: 300_000, onKeyframeRequest: (_, cause) => requests.push(cause), dropStaleVideo: false });
    const v = new SenderPipeline(x.i, transport, { kind: "video", historyCapacity: 4096, clock: () => undefined });
    const packetizer = new H264Packetizer({ inputFormat: "annexb", maxPayloadSize: 1166 });
    let sent = 0;
    for (let k = 0; k < 12; k++) {
      const packets = packetizer.packetize(accessUnits()[0]!, k * 3000);
      sent += packets.length;
      v.send(packets);
    }
    // 12 IDRs at 450 kbit/s take about 2 s: far past the 400 ms a publisher would wait.
    await until("every queued packet on the wire", async () => (x.wire.length === sent ? true : undefined), 5_000);
    expect(requests).toEqual([]);
    expect(transport.counters.staleDropped).toBe(0);
    v.close();
    transport.close();
  });
});

describe("abs-capture-time and playout-delay on the wire", () => {
  const negotiated = [
    { id: 7, uri: ABS_CAPTURE_TIME_URI },
    { id: 9, uri: PLAYOUT_DELAY_URI },
  ];
  test("video: both on the first packet of every frame (the one libwebrtc reads a frame's playout delay from), none on the rest; transport-cc on all", async () => {
    const x = sender("video", { transportCc: 3, extensions: negotiated });
    open.push(x.s);
    const pipeline = new SenderPipeline(x.i, unpaced(), { kind: "video", historyCapacity: 1024, clock: () => undefined, playoutDelay: { minMs: 0, maxMs: 0 } });
    const packetizer = new H264Packetizer({ inputFormat: "annexb", maxPayloadSize: 1144 });
    const captures = [1_796_000_000_123_456_789n, 1_796_000_000_156_790_122n];
    accessUnits().forEach((au, i) => pipeline.send(packetizer.packetize(au, i * 3000), { captureNs: captures[i]! }));
    await Bun.sleep(20);
    const parsed = x.wire.map(parse);
    expect(parsed.length).toBeGreaterThan(3);
    const firsts = parsed.filter((p, i) => i === 0 || p.header.timestamp !== parsed[i - 1]!.header.timestamp);
    expect(firsts).toHaveLength(2);
    firsts.forEach((p, i) => {
      expect(p.header.extensions.map((e) => e.id).sort()).toEqual([3, 7, 9]);
      expect(decodeAbsCaptureTime(p.header.extensions.find((e) => e.id === 7)!.payload)).toEqual({ captureNs: captures[i]!, clockOffsetNs: 0n });
      expect(decodePlayoutDelay(p.header.extensions.find((e) => e.id === 9)!.payload)).toEqual({ minMs: 0, maxMs: 0 });
    });
    for (const p of parsed.filter((p) => !firsts.includes(p))) expect(p.header.extensions.map((e) => e.id)).toEqual([3]);
    // Every packet, the first of a frame included, fits the 1200-byte MTU with the 16-byte GCM tag.
    for (const d of x.wire) expect(d.length + 16).toBeLessThanOrEqual(1200);
    pipeline.close();
  });
  test("audio: abs-capture-time once a second (receivers extrapolate by the RTP timestamp), no playout-delay", async () => {
    const x = sender("audio", { transportCc: 3, extensions: negotiated });
    open.push(x.s);
    const pipeline = new SenderPipeline(x.i, unpaced(), { kind: "audio", historyCapacity: 0, clock: () => undefined });
    const opus = new OpusPacketizer({ maxPayloadSize: 1144 });
    const t0 = 1_796_000_000_000_000_000n;
    for (let k = 0; k < 120; k++) pipeline.send(opus.packetize(Buffer.alloc(100, 1), k * 960), { captureNs: t0 + BigInt(k) * 20_000_000n });
    await Bun.sleep(20);
    const stamped = x.wire.map(parse).filter((p) => p.header.extensions.some((e) => e.id === 7));
    expect(stamped.map((p) => decodeAbsCaptureTime(p.header.extensions.find((e) => e.id === 7)!.payload)!.captureNs)).toEqual([t0, t0 + 1_000_000_000n, t0 + 2_000_000_000n]);
    expect(x.wire.map(parse).some((p) => p.header.extensions.some((e) => e.id === 9))).toBe(false);
    pipeline.close();
  });
  test("a receiver that did not take them gets neither (only what it negotiated); relayed elements go on untouched", async () => {
    const plain = sender("video", { transportCc: 3 });
    const relay = sender("video", { transportCc: 3, extensions: negotiated });
    open.push(plain.s, relay.s);
    const a = new SenderPipeline(plain.i, unpaced(), { kind: "video", historyCapacity: 16, clock: () => undefined, playoutDelay: { minMs: 0, maxMs: 0 } });
    const b = new SenderPipeline(relay.i, unpaced(), { kind: "video", historyCapacity: 16, clock: () => undefined });
    const au = accessUnits()[1]!;
    a.send(new H264Packetizer({ inputFormat: "annexb", maxPayloadSize: 1144 }).packetize(au, 0), { captureNs: 5n });
    const element = Uint8Array.from([1, 2, 3, 4, 5, 6, 7, 8, 0, 0, 0, 0, 0, 0, 0, 9]);
    const delay = Uint8Array.from([0, 0, 50]);
    b.send(new H264Packetizer({ inputFormat: "annexb", maxPayloadSize: 1144 }).packetize(au, 0), { captureTime: element, playoutDelay: delay });
    await Bun.sleep(20);
    expect(plain.wire.map(parse).map((p) => p.header.extensions.map((e) => e.id))).toEqual([[3]]);
    expect(relay.wire.map(parse).map((p) => p.header.extensions.map((e) => [e.id, [...e.payload]]))).toEqual([[[7, [...element]], [9, [...delay]], [3, [0, 1]]]]);
    a.close();
    b.close();
  });
});

describe("numbering on release (the publisher's streams)", () => {
  test("video dropped from the queue as stale leaves no gap in the sequence numbers on the wire", async () => {
    const x = sender("video");
    open.push(x.s);
    const transport = new SendTransport({ pacingTargetBps: 300_000 });
    const v = new SenderPipeline(x.i, transport, { kind: "video", historyCapacity: 1024, clock: () => undefined, numberOnRelease: true });
    const packetizer = new H264Packetizer({ inputFormat: "annexb", maxPayloadSize: 1166, sequenceNumber: 65_530 });
    for (let k = 0; k < 20; k++) v.send(packetizer.packetize(accessUnits()[0]!, k * 3000));
    await Bun.sleep(900);
    v.send(packetizer.packetize(accessUnits()[1]!, 99_000));
    await Bun.sleep(100);
    expect(transport.counters.staleDropped).toBeGreaterThan(0);
    const seqs = x.wire.map((d) => RtpPacket.deSerialize(d).header.sequenceNumber);
    expect(seqs.length).toBeGreaterThan(5);
    seqs.forEach((seq, i) => expect(seq).toBe((65_530 + i) & 0xffff));
    // The NACK history answers for the numbers that were sent.
    expect(v.history.get(seqs[seqs.length - 1]!)).toBeDefined();
    v.close();
    transport.close();
  });
});

function u32(n: number): number[] {
  return [(n >>> 24) & 0xff, (n >>> 16) & 0xff, (n >>> 8) & 0xff, n & 0xff];
}

describe("counters that wrap (hours-long runs)", () => {
  test("the SR packet and octet counts wrap at 2^32, and every Sender Report still serializes (RFC 3550 §6.4.1)", async () => {
    const reports: Buffer[] = [];
    const made = sender("audio", { transportCc: 3 });
    const dtls = made.dtls as unknown as { sendRtcp(packets: { serialize(): Buffer }[]): Promise<void> };
    dtls.sendRtcp = async (packets) => void reports.push(...packets.map((p) => p.serialize()));
    open.push(made.s);
    const transport = new SendTransport({ pacingTargetBps: 1e9, firstSequence: 65534 });
    const start = { packets: 2 ** 32 - 2, octets: 2 ** 32 - 300 };
    const pipeline = new SenderPipeline(made.i, transport, { kind: "audio", historyCapacity: 0, clock: () => ({ at: () => 1234 }), counts: start, numberOnRelease: true, firstSequence: 65535 });
    const packetizer = new OpusPacketizer({ maxPayloadSize: 1166 });
    for (let k = 0; k < 4; k++) pipeline.send(packetizer.packetize(Buffer.alloc(200, k), k * 960));
    await Bun.sleep(10);
    // 4 packets of 200 bytes: both counts went past 2^32 and wrapped.
    expect(made.i.packetCount).toBe(2);
    expect(made.i.octetCount).toBe(800 - 300);
    const wire = made.wire.map(parse);
    expect(wire.map((p) => p.header.sequenceNumber)).toEqual([65535, 0, 1, 2]);
    expect(wire.map((p) => p.header.extensions[0]!.payload.readUInt16BE())).toEqual([65534, 65535, 0, 1]);
    // The first report went out with the first packet; it carries the wrapped counts' low bits.
    expect(reports.length).toBeGreaterThan(0);
    const sr = reports[0]!;
    expect(sr[1]).toBe(200);
    expect(sr.readUInt32BE(20)).toBe((start.packets + 1) >>> 0);
    // A report built now (after the wrap) serializes too; the unwrapped count werift kept would throw.
    const info = (octetCount: number) => new RtcpSrPacket({ ssrc: 1, senderInfo: new RtcpSenderInfo({ ntpTimestamp: 0n, rtpTimestamp: 0, packetCount: made.i.packetCount, octetCount }) }).serialize();
    expect(() => info(made.i.octetCount)).not.toThrow();
    expect(() => info(start.octets + 800)).toThrow();
    pipeline.reports.stop();
    pipeline.close();
  });
});
