/**
 * A WHIP endpoint whose receiver is a plain werift peer, built here from werift's public API
 * alone (none of whipcast's receiving code): it can send a PLI or FIR on demand, and it notes
 * when each keyframe's first packet arrives. libwebrtc offers no way to ask for a keyframe from
 * script, so keyframe-on-demand is measured with this one.
 */
import { RTCPeerConnection, RTCRtpCodecParameters, useH264, useNACK, useOPUS, usePLI } from "werift";
import type { Server } from "bun";

export interface KeyframeArrival {
  /** performance.now() of the first packet of the keyframe. */
  atMs: number;
  timestamp: number;
}

export interface WeriftWhipEndpoint {
  url: string;
  /** Send a PLI (RFC 4585 §6.3.1) for the video stream; returns when it was sent. */
  pli(): Promise<number>;
  /** Send a FIR (RFC 5104 §4.3.1). */
  fir(): Promise<number>;
  keyframes: KeyframeArrival[];
  videoPackets: number;
  connected(): boolean;
  close(): Promise<void>;
}

/** Does this RTP payload (RFC 6184) start a keyframe: an IDR, or SPS ahead of one? */
export function startsIdr(payload: Buffer): boolean {
  const type = payload[0]! & 0x1f;
  if (type === 5 || type === 7) return true;
  if (type === 24) {
    // STAP-A: 2-byte size, then each NAL.
    for (let at = 1; at + 2 < payload.length; ) {
      const size = payload.readUInt16BE(at);
      const nal = payload[at + 2]! & 0x1f;
      if (nal === 5 || nal === 7) return true;
      at += 2 + size;
    }
    return false;
  }
  if (type === 28) return (payload[1]! & 0x80) !== 0 && ((payload[1]! & 0x1f) === 5 || (payload[1]! & 0x1f) === 7);
  return false;
}

export async function startWeriftWhipEndpoint(): Promise<WeriftWhipEndpoint> {
  let pc: RTCPeerConnection | undefined;
  let videoSsrc: number | undefined;
  const keyframes: KeyframeArrival[] = [];
  let lastKeyframeTs: number | undefined;
  let videoPackets = 0;
  const server: Server<undefined> = Bun.serve({
    hostname: "127.0.0.1",
    port: 0,
    async fetch(req) {
      const path = new URL(req.url).pathname;
      if (req.method === "POST" && path === "/whip") {
        pc = new RTCPeerConnection({
          bundlePolicy: "max-bundle",
          iceAdditionalHostAddresses: ["127.0.0.1"],
          codecs: {
            video: [useH264({ rtcpFeedback: [useNACK(), usePLI(), { type: "ccm", parameter: "fir" }], parameters: "profile-level-id=42e01f;packetization-mode=1;level-asymmetry-allowed=1" }), new RTCRtpCodecParameters({ mimeType: "video/rtx", clockRate: 90_000 })],
            audio: [useOPUS()],
          },
        });
        pc.onTrack.subscribe((track) => {
          if (track.kind !== "video") return;
          track.onReceiveRtp.subscribe((packet) => {
            videoPackets++;
            videoSsrc = packet.header.ssrc;
            if (startsIdr(packet.payload) && packet.header.timestamp !== lastKeyframeTs) {
              lastKeyframeTs = packet.header.timestamp;
              keyframes.push({ atMs: performance.now(), timestamp: packet.header.timestamp });
            }
          });
        });
        await pc.setRemoteDescription({ type: "offer", sdp: await req.text() });
        await pc.setLocalDescription(await pc.createAnswer());
        return new Response(pc.localDescription!.sdp, { status: 201, headers: { "content-type": "application/sdp", location: "/whip/s1" } });
      }
      if (req.method === "DELETE") return new Response(null, { status: 200 });
      return new Response("not found", { status: 404 });
    },
  });
  const receiver = () => pc?.getTransceivers().find((t) => t.kind === "video")?.receiver;
  return {
    url: `http://127.0.0.1:${server.port}/whip`,
    keyframes,
    get videoPackets() {
      return videoPackets;
    },
    connected: () => pc?.connectionState === "connected" && videoSsrc !== undefined,
    async pli() {
      const at = performance.now();
      await receiver()!.sendRtcpPLI(videoSsrc!);
      return at;
    },
    async fir() {
      const r = receiver() as unknown as { dtlsTransport: { sendRtcp(p: { serialize(): Buffer }[]): Promise<unknown> }; rtcpSsrc: number };
      // FIR (RFC 5104 §4.3.1.1): PSFB FMT 4, media SSRC 0, then one entry: SSRC + sequence number.
      const fir = Buffer.alloc(20);
      fir[0] = 0x84;
      fir[1] = 206;
      fir.writeUInt16BE(4, 2);
      fir.writeUInt32BE(r.rtcpSsrc >>> 0, 4);
      fir.writeUInt32BE(videoSsrc! >>> 0, 12);
      fir[16] = (keyframes.length + 1) & 0xff;
      const at = performance.now();
      await r.dtlsTransport.sendRtcp([{ serialize: () => fir }]);
      return at;
    },
    async close() {
      server.stop(true);
      await pc?.close();
    },
  };
}
