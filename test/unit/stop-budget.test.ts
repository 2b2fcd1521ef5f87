import { describe, expect, test } from "bun:test";
import { STOP_BUDGET } from "../../src/stop-budget.ts";

describe("stop budgets (README: a clean stop within 2 s)", () => {
  test("the steps a publish stops through, one after another, fit the whole", () => {
    const b = STOP_BUDGET;
    // cleanup order (src/cli/publish.ts): ffmpeg, then the session Worker, then the embedded server.
    expect(b.ffmpegGraceMs + b.sessionMs + b.embeddedServerMs).toBeLessThanOrEqual(b.totalMs);
    // inside the session Worker: a POST in flight lands, then the DELETE.
    expect(b.postLandingMs + b.deleteMs).toBeLessThanOrEqual(b.sessionMs);
    expect(b.serverMs).toBeLessThanOrEqual(b.totalMs);
  });
});
