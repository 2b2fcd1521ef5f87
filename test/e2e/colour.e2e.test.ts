import { describe, expect, test } from "bun:test";
import type { ColourResult } from "./colour-scenario.ts";
import { runInNamespace } from "./run-scenario.ts";

describe("colour at the receiver: whipcast publish → Chromium, loopback-only namespace", () => {
  test("a full-range MJPEG file goes to x264 unconverted, and Chromium shows its greys as drawn", async () => {
    const r = await runInNamespace<ColourResult>("colour-scenario.ts", {});
    expect(r.error).toBeUndefined();
    expect(r.exitCode).toBe(0);
    expect(r.fileFormat).toBe("yuvj420p");
    // Read as limited range, full-range 30 and 220 would show as about 16 and 237; converted
    // wrongly twice, as about 46 and 208. Within 6 of what was drawn is neither.
    const [dark, light] = r.read;
    expect({ drawn: r.drawn, read: r.read, ok: dark!.every((c) => Math.abs(c - r.drawn[0]) <= 6) && light!.every((c) => Math.abs(c - r.drawn[1]) <= 6) }).toMatchObject({ ok: true });
  });
});
