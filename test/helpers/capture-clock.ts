/**
 * The capture clock whipcast's session started from, read back from its `--verbose --log json`
 * output ("capture clock: RTP video B, audio A at … (T ns since the Unix epoch)"): with it, any
 * RTP timestamp maps back to the capture instant whipcast stamped the frame with.
 */
export interface CaptureClock {
  videoBase: number;
  startMs: number;
}

export function captureClock(jsonLines: string[]): CaptureClock | undefined {
  for (const line of jsonLines) {
    const m = /capture clock: RTP video (\d+), audio \d+ at .* \((\d+) ns since the Unix epoch\)/.exec(line);
    if (m) return { videoBase: Number(m[1]), startMs: Number(BigInt(m[2]!) / 1_000n) / 1_000 };
  }
  return undefined;
}

/** The capture instant (Unix-epoch ms) of the video frame with this RTP timestamp (90 kHz, wrapping at 2^32). */
export function expectedCaptureMs(clock: CaptureClock, rtpTimestamp: number): number {
  return clock.startMs + ((rtpTimestamp - clock.videoBase) >>> 0) / 90;
}
