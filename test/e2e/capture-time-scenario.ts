/**
 * whipcast publish → Chromium, judged frame by frame: every presented frame's
 * requestVideoFrameCallback captureTime, against the capture time whipcast stamped it with (the
 * capture clock's start, logged at debug level, and the frame's RTP timestamp). Prints one JSON line.
 *
 *   bun test/e2e/capture-time-scenario.ts '{"timingExtensions": true, "seconds": 6}'
 */
import { binary } from "../helpers/binary.ts";
import { startBrowserWhipEndpoint } from "../helpers/browser-whip-endpoint.ts";
import { captureClock, expectedCaptureMs } from "../helpers/capture-clock.ts";

export interface CaptureTimeScenario {
  /** Whether the receiver takes abs-capture-time and playout-delay (Chromium does by default). */
  timingExtensions: boolean;
  seconds: number;
}

export interface CaptureTimeResult {
  exitCode: number;
  /** The extension URIs in Chromium's answer. */
  answerExtensions: string[];
  framesDecoded: number;
  framesSent: number;
  /** abs-capture-time as Chromium read it off the packets at the end, if any came. */
  senderCaptureTime: { captureTimestamp: number; offset: number } | null;
  /** Frames presented from the first with a captureTime on (Chromium needs a round trip and a report first). */
  presented: number;
  withCaptureTime: number;
  /**
   * captureTime − whipcast's capture time over those frames, ms: its median (Chromium's estimate
   * of the offset between the two clocks, one constant), its spread from frame to frame, and the
   * largest error either way.
   */
  errorMs: { offset: number; spread: number; max: number } | null;
  stderrTail: string[];
}

const s = JSON.parse(process.argv[2] ?? "{}") as CaptureTimeScenario;
const endpoint = await startBrowserWhipEndpoint({ timingExtensions: s.timingExtensions });
try {
  const proc = Bun.spawn([binary(), "publish", endpoint.url, "--source", "test", "--duration", String(s.seconds), "--log", "json", "--verbose"], { stdout: "ignore", stderr: "pipe" });
  const log = await new Response(proc.stderr).text();
  const exitCode = await proc.exited;
  const lines = log.split("\n").filter(Boolean);
  const clock = captureClock(lines);
  const frames = await endpoint.frames();
  const stats = await endpoint.stats();
  const senderCaptureTime = await endpoint.senderCaptureTime();
  const first = frames.findIndex((f) => f.captureMs !== undefined);
  const judged = first < 0 ? [] : frames.slice(first);
  const summary = lines.map((l) => JSON.parse(l) as { videoFrames?: number }).find((j) => j.videoFrames !== undefined);
  const errors = clock ? judged.filter((f) => f.captureMs !== undefined).map((f) => f.captureMs! - expectedCaptureMs(clock, f.rtpTimestamp)).sort((a, b) => a - b) : [];
  const result: CaptureTimeResult = {
    exitCode,
    answerExtensions: [...new Set((endpoint.answers[0] ?? "").split(/\r?\n/).filter((l) => l.startsWith("a=extmap:")).map((l) => l.split(" ")[1]!))],
    framesDecoded: stats.video?.framesDecoded ?? 0,
    framesSent: summary?.videoFrames ?? 0,
    senderCaptureTime,
    presented: judged.length,
    withCaptureTime: judged.filter((f) => f.captureMs !== undefined).length,
    errorMs: errors.length > 0 ? { offset: errors[errors.length >> 1]!, spread: errors[errors.length - 1]! - errors[0]!, max: Math.max(-errors[0]!, errors[errors.length - 1]!) } : null,
    stderrTail: lines.slice(-3),
  };
  process.stdout.write(`${JSON.stringify(result)}\n`);
} finally {
  await endpoint.close();
}
process.exit(0);
