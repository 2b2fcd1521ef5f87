import { describe, expect, test } from "bun:test";
import fc from "fast-check";
import { ConnectionError, EndpointRefusedError, EndpointUnreachableError, MediaError } from "../../src/errors.ts";
import { BACKOFF_START_MS, backoffMs, ENDPOINT_BACKOFF_CAP_MS, firstDelayMs, nextStep, PATH_BACKOFF_CAP_MS, RETRY_AFTER_CAP_MS } from "../../src/whip/reconnect-policy.ts";

const fresh = { endpointFailures: 0, pathFailures: 0 };
const ctx = (over: Partial<Parameters<typeof nextStep>[1]> = {}) => ({ tally: fresh, elapsedMs: 0, timeoutMs: undefined, random: () => 1, ...over });

describe("reconnect policy", () => {
  test.each([
    ["401", new EndpointRefusedError("refused: 401", 401), "give-up"],
    ["403", new EndpointRefusedError("refused: 403", 403), "give-up"],
    ["400 (our offer is refused)", new EndpointRefusedError("refused: 400", 400), "give-up"],
    ["unusable answer (no status)", new EndpointRefusedError("unusable SDP answer"), "give-up"],
    ["404 (server still starting)", new EndpointRefusedError("refused: 404", 404), "retry"],
    ["409 (server still holds the old session)", new EndpointRefusedError("refused: 409", 409), "retry"],
    ["429", new EndpointRefusedError("refused: 429", 429), "retry"],
    ["503", new EndpointUnreachableError("failed with 503", 503), "retry"],
    ["ECONNREFUSED", new EndpointUnreachableError("cannot reach: ECONNREFUSED"), "retry"],
    ["ICE did not connect", new ConnectionError("did not connect"), "retry"],
    ["ffmpeg failed", new MediaError("ffmpeg exited"), "give-up"],
  ] as const)("%s: %s", (_, error, kind) => {
    expect(nextStep(error, ctx()).kind).toBe(kind);
  });

  test("a wrong key gives up with the endpoint's own error (exit 3)", () => {
    const error = new EndpointRefusedError("endpoint refused the stream: 401 Unauthorized", 401);
    const step = nextStep(error, ctx());
    expect(step).toEqual({ kind: "give-up", error });
    expect(step.kind === "give-up" && step.error.code).toBe("refused");
  });

  test("endpoint failures back off 0.5 s doubling to a 30 s cap; path failures to 1 s", () => {
    const endpoint = [1, 2, 3, 4, 5, 6, 7, 8, 20].map((n) => backoffMs(n, ENDPOINT_BACKOFF_CAP_MS, () => 1));
    expect(endpoint).toEqual([500, 1000, 2000, 4000, 8000, 16000, 30000, 30000, 30000]);
    const path = [1, 2, 3, 4, 10].map((n) => backoffMs(n, PATH_BACKOFF_CAP_MS, () => 1));
    expect(path).toEqual([500, 1000, 1000, 1000, 1000]);
  });

  test("jitter: between half and all of the step, never more (property)", () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 60 }), fc.double({ min: 0, max: 1, maxExcluded: true, noNaN: true }), (n, r) => {
        const full = Math.min(ENDPOINT_BACKOFF_CAP_MS, BACKOFF_START_MS * 2 ** (n - 1));
        const d = backoffMs(n, ENDPOINT_BACKOFF_CAP_MS, () => r);
        return d >= Math.floor(full / 2) && d <= full;
      }),
    );
    expect(firstDelayMs(() => 0)).toBe(250);
    expect(firstDelayMs(() => 1)).toBe(500);
  });

  test("each kind is counted apart: an endpoint failure resets the path count", () => {
    let tally = fresh;
    for (let i = 0; i < 3; i++) {
      const step = nextStep(new ConnectionError("x"), ctx({ tally }));
      if (step.kind !== "retry") throw new Error("expected a retry");
      tally = step.tally;
    }
    expect(tally).toEqual({ endpointFailures: 0, pathFailures: 3 });
    const step = nextStep(new EndpointUnreachableError("x"), ctx({ tally }));
    expect(step.kind === "retry" && step.tally).toEqual({ endpointFailures: 1, pathFailures: 0 });
  });

  test("Retry-After wins over the schedule (503 and 429), capped", () => {
    const after2 = nextStep(new EndpointUnreachableError("503", 503, 2_000), ctx({ tally: { endpointFailures: 6, pathFailures: 0 } }));
    expect(after2).toMatchObject({ kind: "retry", delayMs: 2_000 });
    const after429 = nextStep(new EndpointRefusedError("429", 429, 7_000), ctx());
    expect(after429).toMatchObject({ kind: "retry", delayMs: 7_000 });
    const huge = nextStep(new EndpointUnreachableError("503", 503, 86_400_000), ctx());
    expect(huge).toMatchObject({ kind: "retry", delayMs: RETRY_AFTER_CAP_MS });
  });

  test("--reconnect-timeout: gives up when the next try would come after it, with the last error", () => {
    const error = new EndpointUnreachableError("cannot reach");
    expect(nextStep(error, ctx({ elapsedMs: 9_000, timeoutMs: 10_000 })).kind).toBe("retry");
    expect(nextStep(error, ctx({ elapsedMs: 9_600, timeoutMs: 10_000 }))).toEqual({ kind: "give-up", error });
    expect(nextStep(error, ctx({ elapsedMs: 1e9, timeoutMs: undefined })).kind).toBe("retry");
  });
});
