import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { type BrowserContext, chromium, type Page } from "playwright-core";

/** Debian's Chromium, as a real libwebrtc peer on loopback (shared/notes/browser-receiver.md). */
export const CHROMIUM_FLAGS = [
  "--headless=new",
  "--no-sandbox",
  "--disable-gpu",
  "--disable-quic",
  "--no-first-run",
  "--disable-background-networking",
  "--disable-component-update",
  "--disable-sync",
  "--autoplay-policy=no-user-gesture-required",
  // Plain 127.0.0.1 host candidates instead of mDNS names.
  "--allow-loopback-in-peer-connection",
  "--use-fake-ui-for-media-stream",
];

export interface Browser {
  context: BrowserContext;
  page(url: string): Promise<Page>;
  close(): Promise<void>;
}

/** `headless: false` opens a window on $DISPLAY (the benchmark's drawn clock). */
export async function launchChromium(extraFlags: string[] = [], options: { headless?: boolean } = {}): Promise<Browser> {
  const dir = mkdtempSync(join(tmpdir(), "whipcast-chromium-"));
  const headless = options.headless ?? true;
  const context = await chromium.launchPersistentContext(dir, {
    executablePath: process.env.CHROMIUM_PATH ?? "/usr/bin/chromium",
    headless,
    args: [...CHROMIUM_FLAGS.filter((f) => headless || f !== "--headless=new"), ...extraFlags],
    handleSIGINT: false,
    handleSIGTERM: false,
    handleSIGHUP: false,
  });
  return {
    context,
    async page(url) {
      const page = await context.newPage();
      await page.goto(url);
      return page;
    },
    async close() {
      await context.close().catch(() => {});
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
