/**
 * Glass-to-glass delay measured without trusting any publisher's clock: a wall clock is drawn on
 * a virtual X screen (Xvfb) by a headed Chromium, a publisher captures that screen, and the
 * receiving Chromium reads the clock back out of each frame it presents. The clock is 32 bits of
 * Unix-epoch milliseconds as 40-pixel blocks, with its complement below: a frame caught in the
 * middle of a redraw fails the complement and is not counted.
 */
import type { Subprocess } from "bun";
import { launchChromium, type Browser } from "../test/helpers/chromium.ts";

export const SCREEN = { width: 1280, height: 720 };
const BLOCK = 40;

const CLOCK_PAGE = `<!doctype html><meta charset=utf-8><title>clock</title>
<style>html,body{margin:0;background:#777;overflow:hidden}canvas{display:block}</style>
<canvas id=c width=${SCREEN.width} height=${SCREEN.height}></canvas><script>
const c = document.getElementById("c").getContext("2d");
let x = 0;
const draw = () => {
  const ms = Math.round(performance.timeOrigin + performance.now()) >>> 0;
  for (let i = 0; i < 32; i++) {
    const bit = (ms >>> (31 - i)) & 1;
    c.fillStyle = bit ? "#fff" : "#000"; c.fillRect(i * ${BLOCK}, 0, ${BLOCK}, ${BLOCK});
    c.fillStyle = bit ? "#000" : "#fff"; c.fillRect(i * ${BLOCK}, ${BLOCK}, ${BLOCK}, ${BLOCK});
  }
  // Something moving below, as a screen being used has.
  c.fillStyle = "#777"; c.fillRect(0, 100, ${SCREEN.width}, ${SCREEN.height - 100});
  c.fillStyle = "#c33"; c.fillRect(x, 200, 200, 200); x = (x + 8) % ${SCREEN.width};
  requestAnimationFrame(draw);
};
requestAnimationFrame(draw);
</script>`;

/**
 * Defines window.readClock(video, top): for each presented frame, the clock read off its pixels
 * (video.clockFrames); `top` is where the clock starts on the screen (below the browser's bar).
 */
export const READ_CLOCK_SCRIPT = `window.readClock = (video, top) => {
  const canvas = document.createElement("canvas");
  canvas.width = ${SCREEN.width}; canvas.height = ${2 * BLOCK};
  const ctx = canvas.getContext("2d", { willReadFrequently: true });
  video.clockFrames = [];
  const onFrame = (now, m) => {
    ctx.drawImage(video, 0, top, ${SCREEN.width}, ${2 * BLOCK}, 0, 0, ${SCREEN.width}, ${2 * BLOCK});
    const px = ctx.getImageData(0, 0, ${SCREEN.width}, ${2 * BLOCK}).data;
    const luma = (x, y) => { const o = (y * ${SCREEN.width} + x) * 4; return (px[o] + px[o + 1] + px[o + 2]) / 3; };
    let ms = 0, ok = true;
    for (let i = 0; i < 32; i++) {
      const a = luma(i * ${BLOCK} + ${BLOCK / 2}, ${BLOCK / 2}) > 128, b = luma(i * ${BLOCK} + ${BLOCK / 2}, ${BLOCK + BLOCK / 2}) > 128;
      if (a === b) { ok = false; break; }
      ms = ms * 2 + (a ? 1 : 0);
    }
    const epoch = (t) => (t === undefined ? undefined : performance.timeOrigin + t);
    const presented = epoch(now);
    if (ok) {
      // The clock is the low 32 bits of epoch ms: put it back next to the presentation time.
      const high = Math.floor(presented / 2 ** 32) * 2 ** 32;
      let drawn = high + ms;
      if (drawn > presented + 2 ** 31) drawn -= 2 ** 32;
      video.clockFrames.push({ drawnMs: drawn, presentedMs: presented, captureMs: epoch(m.captureTime), receiveMs: epoch(m.receiveTime) });
    }
    if (video.clockFrames.length > 20000) video.clockFrames.splice(0, 10000);
    video.requestVideoFrameCallback(onFrame);
  };
  video.requestVideoFrameCallback(onFrame);
};`;

export interface ClockFrame {
  drawnMs: number;
  presentedMs: number;
  captureMs?: number;
  receiveMs?: number;
}

export interface ClockScreen {
  display: string;
  /** The clock's first row on the screen (the browser's tab strip and toolbar are above it). */
  top: number;
  close(): Promise<void>;
}

/**
 * Where the clock's first row is on the screen: below the browser's tabs and toolbar, whose
 * height the window does not report reliably without a window manager. Read off one grabbed
 * frame (gray): the first row where every block's pixel and the one a block below are opposite.
 */
function clockTop(display: string): number {
  const r = Bun.spawnSync(["ffmpeg", "-hide_banner", "-loglevel", "error", "-f", "x11grab", "-video_size", `${SCREEN.width}x${SCREEN.height}`, "-i", display, "-frames:v", "1", "-pix_fmt", "gray", "-f", "rawvideo", "-"]);
  const px = r.stdout;
  const luma = (x: number, y: number) => px[y * SCREEN.width + x]!;
  for (let y = 0; y + 2 * BLOCK < SCREEN.height; y++) {
    let ok = true;
    for (let i = 0; i < 32 && ok; i++) {
      const x = i * BLOCK + BLOCK / 2;
      const a = luma(x, y + 2);
      const b = luma(x, y + BLOCK + 2);
      ok = (a < 40 && b > 215) || (a > 215 && b < 40);
    }
    if (ok) return y;
  }
  throw new Error("the drawn clock is not on the virtual screen");
}

/** Xvfb on `display`, with the clock drawn full screen by a headed Chromium. Undefined when Xvfb is not installed. */
export async function startClockScreen(display = ":99"): Promise<ClockScreen | undefined> {
  if (!Bun.which("Xvfb")) return undefined;
  const xvfb: Subprocess = Bun.spawn(["Xvfb", display, "-screen", "0", `${SCREEN.width}x${SCREEN.height}x24`, "-nolisten", "tcp"], { stdout: "ignore", stderr: "ignore" });
  const socket = `/tmp/.X11-unix/X${display.slice(1)}`;
  for (let i = 0; i < 50 && !(await Bun.file(socket).exists()); i++) await Bun.sleep(100);
  const server = Bun.serve({ hostname: "127.0.0.1", port: 0, fetch: () => new Response(CLOCK_PAGE, { headers: { "content-type": "text/html" } }) });
  const previous = process.env.DISPLAY;
  process.env.DISPLAY = display;
  let browser: Browser;
  try {
    browser = await launchChromium(["--window-position=0,0", `--window-size=${SCREEN.width},${SCREEN.height}`, "--ozone-platform=x11"], { headless: false });
  } finally {
    if (previous === undefined) delete process.env.DISPLAY;
    else process.env.DISPLAY = previous;
  }
  const page = await browser.page(`http://127.0.0.1:${server.port}/`);
  await Bun.sleep(1_000);
  void page;
  const top = clockTop(display);
  return {
    display,
    top,
    async close() {
      await browser.close();
      server.stop(true);
      xvfb.kill();
      await xvfb.exited;
    },
  };
}
