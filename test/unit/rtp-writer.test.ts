import { describe, expect, test } from "bun:test";
import { Event, H264Packetizer, OpusPacketizer, RTCRtpCodecParameters, RTCRtpSender, type RtpHeader } from "werift";
import { RtpWriter } from "../../src/rtc/rtp-writer.ts";
import type { IceConnectionInternals } from "../../src/rtc/udp-route.ts";
import { internals, type SenderInternals } from "../../src/rtc/sender-internals.ts";

/**
 * A werift sender whose DTLS transport records each packet as it would go on the wire, with a
 * null cipher: werift's own path through `sendRtp`, the writer's through `srtp.encrypt` and the
 * ICE connection (here a TURN pair, so UdpRoute hands every datagram to werift's ICE send).
 */
function sender(kind: "video" | "audio", state = "connected") {
  const wire: Buffer[] = [];
  const plain = (payload: Buffer, header: RtpHeader) => Buffer.concat([header.serialize(header.serializeSize), payload]);
  const connection: IceConnectionInternals = {
    nominated: { remoteAddr: ["127.0.0.1", 9], packetsSent: 0, bytesSent: 0, protocol: { type: "turn" } },
    canSendApplicationData: () => true,
    send: async (datagram) => void wire.push(datagram),
  };
  const s = new RTCRtpSender(kind);
  s.setDtlsTransport({
    state,
    onStateChange: new Event(),
    srtp: { encrypt: plain },
    bytesSent: 0,
    packetsSent: 0,
    iceTransport: { connection },
    async sendRtp(payload: Buffer, header: RtpHeader) {
      wire.push(plain(payload, header));
      return payload.length;
    },
    async sendRtcp() {},
  } as never);
  const codec = kind === "video" ? new RTCRtpCodecParameters({ mimeType: "video/H264", clockRate: 90_000, payloadType: 102 }) : new RTCRtpCodecParameters({ mimeType: "audio/opus", clockRate: 48_000, channels: 2, payloadType: 111 });
  s.prepareSend({ codecs: [codec], headerExtensions: [], rtcp: { cname: "c", ssrc: 0, mux: true }, muxId: "0" } as never);
  return { s, i: internals(s), wire };
}

/** An IDR access unit with SPS and PPS (a STAP-A, then FU-A fragments) and a small P-slice one. */
function accessUnits(): Buffer[] {
  const nal = (type: number, size: number) => Buffer.concat([Buffer.from([0, 0, 0, 1, 0x60 | type]), Buffer.alloc(size - 1, type * 7 + 1)]);
  return [Buffer.concat([nal(7, 12), nal(8, 4), nal(5, 9000)]), nal(1, 800)];
}

const books = (i: SenderInternals) => [i.packetCount, i.octetCount, i.headerBytesSent, i.timestamp, i.sequenceNumber, i.rtpTimestamp];

describe("RtpWriter: werift's bytes and books, without its per-packet detours", () => {
  for (const startSeq of [1000, 65_530]) {
    test(`H.264 from sequence ${startSeq}: same wire bytes, counts and NACK history as RTCRtpSender.sendRtp`, async () => {
      const viaWerift = sender("video");
      const direct = sender("video");
      direct.i.ssrc = viaWerift.i.ssrc;
      const writer = new RtpWriter(direct.i);
      const a = new H264Packetizer({ inputFormat: "annexb", maxPayloadSize: 1166, sequenceNumber: startSeq });
      const b = new H264Packetizer({ inputFormat: "annexb", maxPayloadSize: 1166, sequenceNumber: startSeq });
      let ts = 0xffff_f000; // crosses the u32 wrap too
      for (const au of [...accessUnits(), ...accessUnits()]) {
        ts = (ts + 3000) >>> 0;
        for (const p of a.packetize(au, ts)) await viaWerift.s.sendRtp(p);
        expect(writer.direct).toBe(true);
        writer.write(b.packetize(au, ts));
      }
      expect(direct.wire.length).toBeGreaterThan(16);
      expect(direct.wire).toEqual(viaWerift.wire);
      expect(books(direct.i)).toEqual(books(viaWerift.i));
      // Every slot werift would answer a NACK from holds the packet with that wire sequence number.
      const cached = (i: SenderInternals) => i.rtpCache.map((p) => p?.header.sequenceNumber);
      expect(cached(direct.i)).toEqual(cached(viaWerift.i));
      viaWerift.s.stop();
      direct.s.stop();
    });
  }

  test("Opus: same wire bytes and counts", async () => {
    const viaWerift = sender("audio");
    const direct = sender("audio");
    direct.i.ssrc = viaWerift.i.ssrc;
    const writer = new RtpWriter(direct.i);
    const a = new OpusPacketizer({ maxPayloadSize: 1166, sequenceNumber: 7 });
    const b = new OpusPacketizer({ maxPayloadSize: 1166, sequenceNumber: 7 });
    for (let k = 0; k < 5; k++) {
      const frame = Buffer.alloc(160 + k, k);
      for (const p of a.packetize(frame, k * 960)) await viaWerift.s.sendRtp(p);
      writer.write(b.packetize(frame, k * 960));
    }
    expect(direct.wire).toHaveLength(5);
    expect(direct.wire).toEqual(viaWerift.wire);
    expect(books(direct.i)).toEqual(books(viaWerift.i));
    viaWerift.s.stop();
    direct.s.stop();
  });

  // Where werift's own path would change the bytes, or must hold or drop the packet, it keeps it.
  const cases: [string, (x: ReturnType<typeof sender>) => void][] = [
    ["a negotiated header extension (werift writes it)", (x) => void (x.i.headerExtensions = [{ id: 1, uri: "urn:ietf:params:rtp-hdrext:sdes:mid" }])],
    ["RED (werift wraps the payload)", (x) => void (x.i.redRedundantPayloadType = 102)],
    ["a pending source switch (werift re-bases sequence and timestamp)", (x) => x.s.replaceRTP({ sequenceNumber: 0, timestamp: 0 } as never)],
    ["the pending-RTP queue (werift holds packets until DTLS is up)", (x) => void (x.i.pendingRtpEnabled = true)],
    ["a stopped sender (werift drops the packet)", (x) => x.s.stop()],
    ["no codec yet", (x) => void (x.i.codec = undefined)],
  ];
  for (const [name, setUp] of cases) {
    test(`falls back to werift with ${name}`, () => {
      const x = sender("video");
      expect(new RtpWriter(x.i).direct).toBe(true);
      setUp(x);
      expect(new RtpWriter(x.i).direct).toBe(false);
      x.s.stop();
    });
  }

  test("falls back to werift while DTLS is not connected", () => {
    const x = sender("video", "connecting");
    expect(new RtpWriter(x.i).direct).toBe(false);
    x.s.stop();
  });
});
