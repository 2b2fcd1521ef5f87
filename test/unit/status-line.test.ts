import { describe, expect, test } from "bun:test";
import { formatStatus, StatusLine, statusFields } from "../../src/cli/status-line.ts";

const stats = { videoBps: 2_410_000, audioBps: 131_000, repairBps: 12_000, targetBps: 2_630_000, rttMs: 3, lossPercent: 0.4, nacks: 5, retransmitted: 12, pli: 1, fir: 0, queueMs: 2 };

describe("the live status line", () => {
  test("state, sent rates, target, picture, RTT, loss, NACKs answered, keyframes by reason", () => {
    const line = formatStatus({ state: "live", stats, video: { bitrate: 2_300_000, width: 1280, height: 720, fps: 30 }, keyframes: { start: 1, interval: 3, PLI: 1 }, reconnects: 0 });
    expect(line).toBe("live · video 2.41M · audio 131k · target 2.63M · 1280x720@30 · rtt 3 ms · loss 0.4% · nack 12 · keyframes 5 (1 start, 3 interval, 1 PLI)");
  });

  test("reconnects, once there have been any", () => {
    expect(formatStatus({ state: "live", stats: undefined, keyframes: {}, reconnects: 2 })).toBe("live · keyframes 0 · reconnects 2");
  });

  test("before the first second of stats, and without a round trip yet", () => {
    expect(formatStatus({ state: "connecting", stats: undefined, keyframes: {}, reconnects: 0 })).toBe("connecting · keyframes 0");
    const { rttMs: _, targetBps: __, lossPercent: ___, ...bare } = stats;
    expect(formatStatus({ state: "live", stats: bare, keyframes: {}, reconnects: 0 })).toBe("live · video 2.41M · audio 131k · rtt – · nack 12 · keyframes 0");
  });

  test("the same figures as event fields (stats events, --log json)", () => {
    const fields = statusFields({ state: "live", stats, video: { bitrate: 2_300_000, width: 1280, height: 720, fps: 30 }, keyframes: { "queue stale": 2 }, reconnects: 3 });
    expect(fields).toMatchObject({ state: "live", reconnects: 3, videoBps: 2_410_000, targetBps: 2_630_000, rttMs: 3, lossPercent: 0.4, nacksAnswered: 12, size: "1280x720", fps: 30, encoderBps: 2_300_000, "keyframes.queue-stale": 2 });
  });

  test("on a terminal: rewritten in place, log lines print above it, clipped to the width", () => {
    let out = "";
    const s = new StatusLine({ write: (t: string) => (out += t), columns: 30 });
    s.show("live · video 2.41M · audio 131k · target 2.63M");
    expect(out).toBe("\r\x1b[Klive · video 2.41M · audio 1…");
    out = "";
    s.print("whipcast: video 2.5M → 1.1M (delay rising)");
    expect(out).toBe("\r\x1b[Kwhipcast: video 2.5M → 1.1M (delay rising)\n" + "live · video 2.41M · audio 1…");
    out = "";
    s.clear();
    expect(out).toBe("\r\x1b[K");
  });
});
