import { describe, expect, test } from "bun:test";
import { refusalToHttp } from "../../src/server/http.ts";
import { RelayError, type RelayRefusal } from "../../src/server/relay-error.ts";

describe("relay refusals → HTTP", () => {
  const table: [RelayRefusal, number][] = [
    ["malformed-offer", 400],
    ["no-usable-media", 400],
    ["stream-live", 409],
    ["no-such-stream", 404],
    ["no-such-session", 404],
    ["too-many-viewers", 503],
    ["if-match-required", 428],
    ["malformed-sdpfrag", 400],
    ["etag-mismatch", 412],
    ["restart-needs-credentials", 400],
    ["restart-needs-if-match-star", 422],
    ["not-an-ice-restart", 400],
    ["ice-restart-failed", 422],
  ];
  test.each(table)("%s is %d with the relay's detail", async (refusal, status) => {
    const response = refusalToHttp(new RelayError(refusal, `detail of ${refusal}`)).toResponse();
    expect(response.status).toBe(status);
    expect(response.headers.get("content-type")).toBe("application/problem+json");
    const body = (await response.json()) as { detail: string; title: string };
    expect(body.detail).toBe(`detail of ${refusal}`);
    expect(body.title.length).toBeGreaterThan(0);
  });

  test("a full stream says when to retry", () => {
    expect(refusalToHttp(new RelayError("too-many-viewers", "full", 10)).toResponse().headers.get("retry-after")).toBe("10");
    expect(refusalToHttp(new RelayError("stream-live", "live")).toResponse().headers.get("retry-after")).toBeNull();
  });
});
