import type { Page } from "playwright-core";
import type { Browser } from "./chromium.ts";

/**
 * Chromium's own WebRTC publisher (libwebrtc), as a reference beside whipcast: a page on the
 * endpoint's origin (127.0.0.1 is a secure context) captures its fake camera (launch the
 * browser with --use-fake-device-for-media-stream), sends H.264 at up to `maxBitrate` and
 * POSTs the offer to the WHIP endpoint.
 */
export interface ChromiumPublisherOptions {
  audio?: boolean;
  maxBitrate?: number;
}

export interface ChromiumPublisher {
  page: Page;
  /** Bytes (payload and headers) and frames sent so far. */
  sent(): Promise<{ bytes: number; frames: number }>;
  close(): Promise<void>;
}

export async function startChromiumPublisher(browser: Browser, whipUrl: string, options: ChromiumPublisherOptions = {}): Promise<ChromiumPublisher> {
  const page = await browser.page(whipUrl.replace(/\/whip$/, "/"));
  await page.evaluate(
    async ({ endpoint, audio, maxBitrate }) => {
      const media = await navigator.mediaDevices.getUserMedia({ video: { width: 1280, height: 720, frameRate: 30 }, audio });
      const pc = new RTCPeerConnection({ bundlePolicy: "max-bundle" });
      for (const track of media.getTracks()) {
        const t = pc.addTransceiver(track, { direction: "sendonly", streams: [media] });
        if (track.kind !== "video") continue;
        // The same codec and ceiling as whipcast's default: H.264 at up to 2.5 Mbit/s.
        t.setCodecPreferences(RTCRtpSender.getCapabilities("video")!.codecs.filter((c) => c.mimeType === "video/H264" || c.mimeType === "video/rtx"));
        const p = t.sender.getParameters();
        p.encodings = [{ maxBitrate }];
        await t.sender.setParameters(p);
      }
      await pc.setLocalDescription(await pc.createOffer());
      if (pc.iceGatheringState !== "complete") await new Promise((r) => pc.addEventListener("icegatheringstatechange", () => pc.iceGatheringState === "complete" && r(undefined)));
      const res = await fetch(endpoint, { method: "POST", headers: { "content-type": "application/sdp" }, body: pc.localDescription!.sdp });
      await pc.setRemoteDescription({ type: "answer", sdp: await res.text() });
      Object.assign(window, { publisher: pc, media });
    },
    { endpoint: whipUrl, audio: options.audio ?? true, maxBitrate: options.maxBitrate ?? 2_500_000 },
  );
  return {
    page,
    sent: () =>
      page.evaluate(async () => {
        let bytes = 0;
        let frames = 0;
        (await (window as unknown as { publisher: RTCPeerConnection }).publisher.getStats()).forEach((r) => {
          if (r.type !== "outbound-rtp") return;
          const o = r as { bytesSent?: number; headerBytesSent?: number; framesSent?: number };
          bytes += (o.bytesSent ?? 0) + (o.headerBytesSent ?? 0);
          frames += o.framesSent ?? 0;
        });
        return { bytes, frames };
      }),
    async close() {
      await page.evaluate(() => {
        const w = window as unknown as { publisher: RTCPeerConnection; media: MediaStream };
        for (const t of w.media.getTracks()) t.stop();
        w.publisher.close();
      });
      await page.close();
    },
  };
}
