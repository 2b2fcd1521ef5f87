/**
 * whipcast's publisher peer and the relay's receiving peer, connected for real (ICE, DTLS, SRTP)
 * inside a loopback-only namespace: the places src/rtc reaches into werift — the SRTCP tap, the
 * transport-wide sequence stamping, the TWCC responder's RTP tap, the header extension ids, the
 * keyframe request path — against real werift objects. Prints one JSON line.
 */
import { H264Packetizer } from "werift";
import { nominatedSocketClosed, selectedPair } from "../../src/rtc/path-activity.ts";
import { PublisherPeer } from "../../src/rtc/publisher-peer.ts";
import { ReceivingPeer } from "../../src/rtc/receiving-peer.ts";
import { RtpClock } from "../../src/rtp/rtp-clock.ts";
import { nowNs } from "../../src/rtp/ntp.ts";
import { decodeAbsCaptureTime } from "../../src/rtp/header-extensions.ts";
import { startStunServer } from "../helpers/stun-server.ts";

const stun = await startStunServer();
const iceServers = [{ urls: stun.url }];
const keyframeRequests: string[] = [];
const publisher = new PublisherPeer({
  video: true, audio: true, videoBitrate: 2_500_000, startVideoBitrate: 1_000_000, audioBitrate: 128_000, adapt: true, minVideoBitrate: 150_000,
  iceServers, loopbackCandidates: true, onKeyframeRequest: (cause) => keyframeRequests.push(cause),
});
const received = { video: 0, audio: 0, extensionIds: new Set<number>(), reports: 0 };
/** abs-capture-time as the receiving side read it, against the capture time each frame was sent with. */
const captureTimes = { video: [] as { rtp: number; decodedNs: string }[], audio: [] as { rtp: number; decodedNs: string }[] };
const receiver = new ReceivingPeer(iceServers, true, {
  packet: (kind, packet, timing) => {
    received[kind]++;
    for (const e of packet.header.extensions) received.extensionIds.add(e.id);
    const decoded = timing.captureTime ? decodeAbsCaptureTime(timing.captureTime) : undefined;
    if (decoded) captureTimes[kind].push({ rtp: packet.header.timestamp, decodedNs: String(decoded.captureNs) + (decoded.clockOffsetNs === 0n ? "" : ` offset ${decoded.clockOffsetNs}`) });
  },
  senderReport: () => void received.reports++,
});
const start = nowNs();
publisher.setClocks({ video: new RtpClock(90_000, start, 1), audio: new RtpClock(48_000, start, 1) });
const answer = await receiver.accept(await publisher.createOffer());
await publisher.acceptAnswer(answer);
const connected = await new Promise<boolean>((resolve) => {
  const timer = setTimeout(() => resolve(false), 10_000);
  publisher.onConnectionState((s) => s === "connected" && (clearTimeout(timer), resolve(true)));
  if (publisher.connectionState === "connected") resolve(true);
});
await Bun.sleep(200);
// 3 s of synthetic 30 fps video (an IDR each second) and 50 Hz Opus-sized audio.
const nal = (type: number, size: number) => Buffer.concat([Buffer.from([0, 0, 0, 1, 0x60 | type]), Buffer.alloc(size - 1, type)]);
const sps = Buffer.from([0, 0, 0, 1, 0x67, 0x42, 0xe0, 0x1f, 0xda, 0x01, 0x40, 0x16, 0xe8, 0x06, 0xd0, 0xa1, 0x35]);
const pps = Buffer.from([0, 0, 0, 1, 0x68, 0xce, 0x06, 0xe2]);
void H264Packetizer;
/** The capture time of each frame by its RTP timestamp, as sent. */
const sentCaptureNs = { video: new Map<number, string>(), audio: new Map<number, string>() };
for (let i = 0; i < 90; i++) {
  const t = start + BigInt(Math.round((i * 1e9) / 30));
  const au = i % 30 === 0 ? Buffer.concat([sps, pps, nal(5, 20_000)]) : nal(1, 4_000);
  const rtp = 1 + Math.round((i * 90_000) / 30);
  sentCaptureNs.video.set(rtp, String(t));
  publisher.sendVideo(au, rtp, t, nowNs());
  for (const [k, a] of [[0, 1 + i * 1600], [1, 1 + i * 1600 + 960]] as const) {
    const at = t + BigInt(k) * 20_000_000n;
    sentCaptureNs.audio.set(a, String(at));
    publisher.sendAudio(new Uint8Array(120), a, at);
  }
  await Bun.sleep(33);
}
await Bun.sleep(300);
// The receiving side asks for a keyframe; the publisher hears it through the SRTCP tap.
const videoSsrc = (publisher.pc.getTransceivers().find((t) => t.kind === "video")!.sender as unknown as { ssrc: number }).ssrc;
receiver.requestPictureLoss(videoSsrc);
await Bun.sleep(300);
// The selected pair and its socket, read from werift's own objects (path-activity.ts): open
// while connected, reported closed once that socket is.
const pair = selectedPair(publisher.pc);
const socketClosedBefore = nominatedSocketClosed(publisher.pc);
const nominated = (publisher.pc.iceTransports[0]!.connection as unknown as { nominated: { protocol: { transport: { close(): Promise<void> } } } }).nominated;
await nominated.protocol.transport.close();
const socketClosedAfter = nominatedSocketClosed(publisher.pc);
const result = {
  connected,
  pair: pair ? { local: pair.local.address, remote: pair.remote.address, protocol: pair.remote.protocol, rttMs: pair.rttMs ?? null } : null,
  socketClosed: [socketClosedBefore, socketClosedAfter],
  received: { video: received.video, audio: received.audio, extensionIds: [...received.extensionIds], senderReports: received.reports },
  sent: { video: publisher.transport.counters.packets.video, repair: publisher.transport.counters.packets.padding + publisher.transport.counters.packets.retransmission, audio: publisher.transport.counters.packets.audio },
  feedbacks: publisher.transport.counters.feedbacks,
  logged: publisher.transport.log.size,
  ackedBps: publisher.estimator?.ackedBps() ?? null,
  rttMs: publisher.transport.rttMs ?? null,
  keyframeRequests,
  captureTimes: {
    video: { elements: captureTimes.video.length, frames: new Set(captureTimes.video.map((c) => c.rtp)).size, mismatched: captureTimes.video.filter((c) => sentCaptureNs.video.get(c.rtp) !== c.decodedNs).slice(0, 3) },
    audio: { elements: captureTimes.audio.length, mismatched: captureTimes.audio.filter((c) => sentCaptureNs.audio.get(c.rtp) !== c.decodedNs).slice(0, 3) },
  },
};
await publisher.close();
await receiver.close();
stun.close();
process.stdout.write(`${JSON.stringify(result)}\n`);
process.exit(0);
