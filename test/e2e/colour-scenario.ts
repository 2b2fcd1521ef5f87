/**
 * Colour at a real receiver: an MJPEG file (full-range, JPEG's 4:2:0) of two grey halves is
 * published through whipcast into Chromium, and the presented picture's pixels are read back
 * off a canvas. Run inside a loopback-only namespace; prints one JSON line.
 *
 *   bun test/e2e/colour-scenario.ts '{}'
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { binary } from "../helpers/binary.ts";
import { startBrowserWhipEndpoint } from "../helpers/browser-whip-endpoint.ts";

export interface ColourResult {
  exitCode: number;
  /** The pixel format whipcast's probe of the file reported (ffmpeg's name). */
  fileFormat: string;
  /** The grey levels drawn, and the RGB read back at the middle of each half. */
  drawn: [number, number];
  read: [number, number, number][];
  error?: string;
}

const DRAWN: [number, number] = [30, 220];
const dir = mkdtempSync(join(tmpdir(), "whipcast-colour-"));
const file = join(dir, "greys.mkv");
const hex = (v: number) => `0x${v.toString(16).padStart(2, "0").repeat(3)}`;
const make = Bun.spawnSync(["ffmpeg", "-hide_banner", "-loglevel", "error", "-f", "lavfi", "-i", `color=c=${hex(DRAWN[0])}:s=640x360:r=30,drawbox=x=320:y=0:w=320:h=360:color=${hex(DRAWN[1])}:t=fill`, "-t", "6", "-c:v", "mjpeg", "-q:v", "2", "-pix_fmt", "yuvj420p", file]);
if (make.exitCode !== 0) throw new Error(`cannot make the file: ${make.stderr.toString()}`);
const probe = Bun.spawnSync(["ffmpeg", "-hide_banner", "-i", file]).stderr.toString();
const endpoint = await startBrowserWhipEndpoint();
try {
  const proc = Bun.spawn([binary(), "publish", endpoint.url, "--source", file, "--size", "640x360", "--fps", "30", "--no-audio", "--duration", "5", "--quiet"], { stdout: "ignore", stderr: "pipe" });
  while (endpoint.sessions.length === 0 && proc.exitCode === null) await Bun.sleep(50);
  // Two seconds in: past the first frames, whatever the receiver did with them.
  let presented = 0;
  for (let i = 0; i < 100 && presented < 60; i++) {
    await Bun.sleep(100);
    presented = (await endpoint.frames().catch(() => [])).length;
  }
  const read = await endpoint.page.evaluate(() => {
    const video = Object.values((window as unknown as { videos: Record<string, HTMLVideoElement> }).videos)[0]!;
    const canvas = document.createElement("canvas");
    canvas.width = video.videoWidth;
    canvas.height = video.videoHeight;
    const g = canvas.getContext("2d", { willReadFrequently: true })!;
    g.drawImage(video, 0, 0);
    const at = (x: number) => [...g.getImageData(Math.round(x * canvas.width), Math.round(canvas.height / 2), 1, 1).data.slice(0, 3)] as [number, number, number];
    return [at(0.25), at(0.75)];
  });
  const exitCode = await proc.exited;
  const result: ColourResult = { exitCode, fileFormat: /Video: mjpeg[^,]*, (\w+)/.exec(probe)?.[1] ?? "?", drawn: DRAWN, read };
  if (exitCode !== 0) result.error = await new Response(proc.stderr).text();
  process.stdout.write(`${JSON.stringify(result)}\n`);
} finally {
  await endpoint.close();
  rmSync(dir, { recursive: true, force: true });
}
process.exit(0);
