/**
 * Glass-to-glass delay measured without trusting any publisher's clock: a wall clock is drawn on
 * a virtual X screen (Xvfb) by a plain X client (Tk), a publisher captures that screen, and the
 * receiving Chromium reads the clock back out of each frame it presents. The clock is 32 bits of
 * Unix-epoch milliseconds as 40-pixel blocks, with its complement below: a frame caught in the
 * middle of a redraw fails the complement and is not counted.
 *
 * The drawer is an X client of its own, not a browser: a headed Chromium's page reached the X
 * server through its compositor 80–95 ms after requestAnimationFrame, which the measurement then
 * counted as the publisher's. Tk draws with Xlib calls and flushes them at each update.
 */
import type { Subprocess } from "bun";

export const SCREEN = { width: 1280, height: 720 };
const BLOCK = 40;

/**
 * Redraws the clock every 4 ms (so a drawn value is at most 4 ms old when grabbed), repainting
 * only the blocks whose bit changed (a full repaint each time took half a core), and moves a
 * square below it once a frame interval, as a screen in use has. `drawn` is the clock read
 * before the redraw.
 */
const CLOCK_DRAWER = `
import time, tkinter as tk
W, H, B = ${SCREEN.width}, ${SCREEN.height}, ${BLOCK}
root = tk.Tk()
root.overrideredirect(True)
root.geometry(f"{W}x{H}+0+0")
c = tk.Canvas(root, width=W, height=H, bg="#777777", highlightthickness=0)
c.pack()
top = [c.create_rectangle(i * B, 0, i * B + B, B, width=0) for i in range(32)]
bottom = [c.create_rectangle(i * B, B, i * B + B, 2 * B, width=0) for i in range(32)]
square = c.create_rectangle(0, 200, 200, 400, fill="#cc3333", width=0)
shown = None
x, moved = 0, 0.0
while True:
    now = time.time()
    ms = int(now * 1000) & 0xFFFFFFFF
    changed = 0xFFFFFFFF if shown is None else ms ^ shown
    for i in range(32):
        if (changed >> (31 - i)) & 1:
            bit = (ms >> (31 - i)) & 1
            c.itemconfigure(top[i], fill="#ffffff" if bit else "#000000")
            c.itemconfigure(bottom[i], fill="#000000" if bit else "#ffffff")
    shown = ms
    if now - moved >= 0.033:
        moved = now
        x = (x + 8) % W
        c.coords(square, x, 200, x + 200, 400)
    root.update()
    time.sleep(max(0.0, 0.004 - (time.time() - now)))
`;

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

/** Xvfb on `display`, with the clock drawn full screen by Tk. Undefined when Xvfb or python3-tk is missing. */
export async function startClockScreen(display = ":99"): Promise<ClockScreen | undefined> {
  if (!Bun.which("Xvfb") || Bun.spawnSync(["python3", "-c", "import tkinter"]).exitCode !== 0) return undefined;
  const xvfb: Subprocess = Bun.spawn(["Xvfb", display, "-screen", "0", `${SCREEN.width}x${SCREEN.height}x24`, "-nolisten", "tcp"], { stdout: "ignore", stderr: "ignore" });
  const socket = `/tmp/.X11-unix/X${display.slice(1)}`;
  for (let i = 0; i < 50 && !(await Bun.file(socket).exists()); i++) await Bun.sleep(100);
  const drawer: Subprocess = Bun.spawn(["python3", "-c", CLOCK_DRAWER], { stdout: "ignore", stderr: "inherit", env: { ...process.env, DISPLAY: display } });
  await Bun.sleep(1_000);
  const close = async () => {
    drawer.kill();
    await drawer.exited;
    xvfb.kill();
    await xvfb.exited;
  };
  try {
    return { display, top: clockTop(display), close };
  } catch (error) {
    await close();
    throw error;
  }
}
