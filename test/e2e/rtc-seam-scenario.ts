/**
 * whipcast's publisher peer and the relay's receiving peer, connected for real (ICE, DTLS, SRTP)
 * inside a loopback-only namespace: the places src/rtc reaches into werift — the SRTCP tap, the
 * transport-wide sequence stamping, the TWCC responder's RTP tap, the header extension ids, the
 * keyframe request path — against real werift objects. Prints one JSON line.
 */
import { H264Packetizer } from "werift";
import { PublisherPeer } from "../../src/rtc/publisher-peer.ts";
import { ReceivingPeer } from "../../src/rtc/receiving-peer.ts";
import { RtpClock } from "../../src/rtp/rtp-clock.ts";
import { nowNs } from "../../src/rtp/ntp.ts";
import { startStunServer } from "../helpers/stun-server.ts";

const stun = await startStunServer();
const iceServers = [{ urls: stun.url }];
const keyframeRequests: string[] = [];
const publisher = new PublisherPeer({
  video: true, audio: true, videoBitrate: 2_500_000, startVideoBitrate: 1_000_000, audioBitrate: 128_000, adapt: true, minVideoBitrate: 150_000,
  iceServers, loopbackCandidates: true, onKeyframeRequest: (cause) => keyframeRequests.push(cause),
});
const received = { video: 0, audio: 0, extensionIds: new Set<number>(), reports: 0 };
const receiver = new ReceivingPeer(iceServers, true, {
  packet: (kind, packet) => {
    received[kind]++;
    for (const e of packet.header.extensions) received.extensionIds.add(e.id);
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
for (let i = 0; i < 90; i++) {
  const t = start + BigInt(Math.round((i * 1e9) / 30));
  const au = i % 30 === 0 ? Buffer.concat([sps, pps, nal(5, 20_000)]) : nal(1, 4_000);
  publisher.sendVideo(au, 1 + Math.round((i * 90_000) / 30), nowNs());
  publisher.sendAudio(new Uint8Array(120), 1 + i * 1600);
  publisher.sendAudio(new Uint8Array(120), 1 + i * 1600 + 960);
  void t;
  await Bun.sleep(33);
}
await Bun.sleep(300);
// The receiving side asks for a keyframe; the publisher hears it through the SRTCP tap.
const videoSsrc = (publisher.pc.getTransceivers().find((t) => t.kind === "video")!.sender as unknown as { ssrc: number }).ssrc;
receiver.requestPictureLoss(videoSsrc);
await Bun.sleep(300);
const result = {
  connected,
  received: { video: received.video, audio: received.audio, extensionIds: [...received.extensionIds], senderReports: received.reports },
  sent: { video: publisher.transport.counters.packets.video, repair: publisher.transport.counters.packets.padding + publisher.transport.counters.packets.retransmission, audio: publisher.transport.counters.packets.audio },
  feedbacks: publisher.transport.counters.feedbacks,
  logged: publisher.transport.log.size,
  ackedBps: publisher.estimator?.ackedBps() ?? null,
  rttMs: publisher.transport.rttMs ?? null,
  keyframeRequests,
};
await publisher.close();
await receiver.close();
stun.close();
process.stdout.write(`${JSON.stringify(result)}\n`);
process.exit(0);
