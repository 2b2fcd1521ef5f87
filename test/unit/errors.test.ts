import { describe, expect, test } from "bun:test";
import { EXIT_STATUS } from "../../src/cli/exit-codes.ts";
import { asWhipcastError, ConnectionError, EndpointUnreachableError, fromPayload, InternalError, toPayload } from "../../src/errors.ts";

describe("errors across threads", () => {
  test("anything not whipcast's own is a bug: exit 1, one line, whichever thread it crossed", () => {
    for (const thrown of [new TypeError("x is not a function\n    at foo (a.ts:1:2)"), "a string", undefined]) {
      const payload = toPayload(thrown);
      expect(payload.code).toBe("internal");
      expect(payload.message).not.toContain("\n");
      const back = fromPayload(payload);
      expect(back).toBeInstanceOf(InternalError);
      expect(EXIT_STATUS[back.code]).toBe(1);
    }
    expect(toPayload(new TypeError("x is not a function\n    at foo")).message).toBe("unexpected error: x is not a function");
  });

  test("whipcast's own keep their code, status and Retry-After across the boundary", () => {
    const e = fromPayload(toPayload(new EndpointUnreachableError("endpoint failed with 503", 503, 2_000)));
    expect(e).toBeInstanceOf(EndpointUnreachableError);
    expect(e).toMatchObject({ code: "unreachable", message: "endpoint failed with 503", status: 503, retryAfterMs: 2_000 });
    const c = new ConnectionError("lost");
    expect(asWhipcastError(c)).toBe(c);
  });
});
