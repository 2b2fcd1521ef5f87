import { afterEach, describe, expect, test } from "bun:test";
import { EndpointRefusedError, EndpointUnreachableError } from "../../src/errors.ts";
import { parseRetryAfter, WhipClient } from "../../src/whip/client.ts";
import { fakeEndpoint, type Handler } from "../helpers/fake-endpoint.ts";

const OFFER = "v=0\r\nm=video 9 UDP/TLS/RTP/SAVPF 96\r\n";
const ANSWER = "v=0\r\nm=video 9 UDP/TLS/RTP/SAVPF 96\r\n";
const created = (location = "/whip/session/1", extra: Record<string, string> = {}) =>
  new Response(ANSWER, { status: 201, headers: { "content-type": "application/sdp", location, etag: '"v1"', ...extra } });

let stops: (() => void)[] = [];
afterEach(() => {
  for (const s of stops) s();
  stops = [];
});

function endpoint(handler: Handler) {
  const ep = fakeEndpoint(handler);
  stops.push(ep.stop);
  return ep;
}

const sleeps: number[] = [];
const client = (url: string, extra: Partial<ConstructorParameters<typeof WhipClient>[0]> = {}) =>
  new WhipClient({ endpoint: url, timeoutMs: 2_000, sleep: async (ms) => void sleeps.push(ms), ...extra });

describe("WHIP POST (RFC 9725 §4.2)", () => {
  test("201: answer, Location resolved against the final URL, ETag, ICE servers from Link", async () => {
    const ep = endpoint(() => created("session/abc", { link: '<stun:stun.example.net>; rel="ice-server", <turn:t.example.net?transport=udp>; rel="ice-server"; username="u"; credential="c"' }));
    const answer = await client(ep.url).publish(OFFER);
    expect(answer).toEqual({
      sdp: ANSWER,
      status: 201,
      location: "session/abc",
      resource: `${ep.base}/session/abc`,
      etag: '"v1"',
      iceServers: [{ urls: "stun:stun.example.net" }, { urls: "turn:t.example.net?transport=udp", username: "u", credential: "c" }],
    });
    expect(ep.seen[0]).toMatchObject({ method: "POST", body: OFFER, headers: { "content-type": "application/sdp" } });
  });

  test("Authorization is sent on every request when a token is set, and absent when not", async () => {
    const ep = endpoint((req) => (req.method === "POST" ? created() : new Response(null, { status: 200 })));
    const withToken = client(ep.url, { token: "s3cr3t" });
    await withToken.publish(OFFER);
    expect(await withToken.end()).toEqual({ deleted: true, status: 200 });
    const without = client(ep.url);
    await without.publish(OFFER);
    await without.end();
    expect(ep.seen.map((s) => [s.method, s.headers.authorization])).toEqual([
      ["POST", "Bearer s3cr3t"],
      ["DELETE", "Bearer s3cr3t"],
      ["POST", undefined],
      ["DELETE", undefined],
    ]);
    expect(ep.seen[1]!.path).toBe("/whip/session/1");
  });

  test.each([307, 308])("%d redirects are followed with body and token re-sent; Location resolves against the final URL", async (status) => {
    const ep = endpoint((_req, s) => {
      if (s.path === "/whip") return new Response(null, { status, headers: { location: "/elsewhere/whip" } });
      if (s.path === "/elsewhere/whip") return new Response(null, { status, headers: { location: "final/whip" } });
      return created("res/1");
    });
    const answer = await client(ep.url, { token: "tok" }).publish(OFFER);
    expect(answer.resource).toBe(`${ep.base}/elsewhere/final/res/1`);
    expect(ep.seen.map((s) => [s.path, s.body, s.headers.authorization])).toEqual([
      ["/whip", OFFER, "Bearer tok"],
      ["/elsewhere/whip", OFFER, "Bearer tok"],
      ["/elsewhere/final/whip", OFFER, "Bearer tok"],
    ]);
  });

  test("more than 10 redirects fail", async () => {
    const ep = endpoint(() => new Response(null, { status: 307, headers: { location: "/whip" } }));
    await expect(client(ep.url).publish(OFFER)).rejects.toThrow("redirected more than 10 times");
  });

  test.each([301, 302, 303])("%d is not a WHIP redirect", async (status) => {
    const ep = endpoint(() => new Response(null, { status, headers: { location: "/x" } }));
    const error = await client(ep.url).publish(OFFER).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(EndpointRefusedError);
    expect((error as Error).message).toBe(`endpoint answered ${status} ${status === 301 ? "Moved Permanently" : status === 302 ? "Found" : "See Other"}; WHIP allows only 307 and 308 redirects`);
  });

  test.each([
    [401, "endpoint refused the stream: 401 Unauthorized (check --token / WHIP_TOKEN)"],
    [403, "endpoint refused the stream: 403 Forbidden (check --token / WHIP_TOKEN)"],
    [404, "endpoint refused the stream: 404 Not Found"],
    [415, "endpoint refused the stream: 415 Unsupported Media Type"],
    [422, "endpoint refused the stream: 422 Unprocessable Entity"],
  ])("%d → EndpointRefusedError (exit 3) naming the status", async (status, message) => {
    const ep = endpoint(() => new Response("nope", { status }));
    const error = await client(ep.url).publish(OFFER).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(EndpointRefusedError);
    expect(error).toMatchObject({ message, status, code: "refused" });
  });

  test("problem+json title and detail are shown", async () => {
    const ep = endpoint(() => Response.json({ type: "about:blank", title: "Stream key invalid", detail: "The key\nwas revoked" }, { status: 403, headers: { "content-type": "application/problem+json" } }));
    const error = await client(ep.url).publish(OFFER).catch((e: unknown) => e);
    expect((error as Error).message).toBe("endpoint refused the stream: 403 Forbidden: Stream key invalid: The key was revoked");
  });

  test("500 is retried, then fails as unreachable (exit 4)", async () => {
    sleeps.length = 0;
    const ep = endpoint(() => new Response("boom", { status: 500 }));
    const error = await client(ep.url).publish(OFFER).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(EndpointUnreachableError);
    expect((error as Error).message).toBe("endpoint failed with 500 Internal Server Error after 3 attempts");
    expect(ep.seen).toHaveLength(3);
    expect(sleeps).toEqual([500, 1000]);
  });

  test("503 with Retry-After is honoured, then succeeds", async () => {
    sleeps.length = 0;
    const ep = endpoint((_r, _s, i) => (i === 0 ? new Response(null, { status: 503, headers: { "retry-after": "3" } }) : created()));
    const answer = await client(ep.url).publish(OFFER);
    expect(answer.resource).toBe(`${ep.base}/whip/session/1`);
    expect(sleeps).toEqual([3000]);
  });

  test("503 with a Retry-After beyond the limit fails at once", async () => {
    const ep = endpoint(() => new Response(null, { status: 503, headers: { "retry-after": "3600" } }));
    const error = await client(ep.url).publish(OFFER).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(EndpointUnreachableError);
    expect(ep.seen).toHaveLength(1);
  });

  test("a hanging server times out as unreachable", async () => {
    const ep = endpoint(() => new Promise<Response>(() => {}));
    const error = await client(ep.url, { timeoutMs: 300, maxAttempts: 1 }).publish(OFFER).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(EndpointUnreachableError);
    expect((error as Error).message).toBe(`no answer from ${ep.url} within 300 ms`);
  });

  test("a closed port is unreachable", async () => {
    const ep = endpoint(() => created());
    const url = ep.url;
    ep.stop();
    const error = await client(url, { maxAttempts: 1 }).publish(OFFER).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(EndpointUnreachableError);
    expect((error as Error).message).toStartWith(`cannot reach ${url}:`);
  });

  test("an oversized body is refused without reading it all", async () => {
    const ep = endpoint(() => new Response("x".repeat(2_000_000), { status: 201, headers: { "content-type": "application/sdp", location: "/r" } }));
    const error = await client(ep.url, { maxBodyBytes: 64 * 1024 }).publish(OFFER).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(EndpointRefusedError);
    expect((error as Error).message).toBe("endpoint response body is 2000000 bytes, over the 65536-byte limit");
  });

  test("an oversized chunked body is refused too", async () => {
    const ep = endpoint(() => {
      const big = new ReadableStream({
        start(c) {
          for (let i = 0; i < 40; i++) c.enqueue(new Uint8Array(16 * 1024));
          c.close();
        },
      });
      return new Response(big, { status: 201, headers: { "content-type": "application/sdp", location: "/r" } });
    });
    const error = await client(ep.url, { maxBodyBytes: 64 * 1024 }).publish(OFFER).catch((e: unknown) => e);
    expect((error as Error).message).toContain("65536-byte limit");
  });

  test("201 without Location is refused", async () => {
    const ep = endpoint(() => new Response(ANSWER, { status: 201, headers: { "content-type": "application/sdp" } }));
    await expect(client(ep.url).publish(OFFER)).rejects.toThrow("without a Location header");
  });

  test("a non-SDP answer is refused, and the created resource can still be deleted", async () => {
    const ep = endpoint((req) => (req.method === "POST" ? new Response("<html/>", { status: 201, headers: { "content-type": "text/html", location: "/r/1" } }) : new Response(null, { status: 204 })));
    const c = client(ep.url);
    await expect(c.publish(OFFER)).rejects.toThrow("expected application/sdp");
    expect(await c.end()).toEqual({ deleted: true, status: 204 });
    expect(ep.seen.map((s) => `${s.method} ${s.path}`)).toEqual(["POST /whip", "DELETE /r/1"]);
  });

  test("end() is idempotent and reports a failing DELETE without throwing", async () => {
    const ep = endpoint((req) => (req.method === "POST" ? created() : new Response(null, { status: 500 })));
    const c = client(ep.url);
    await c.publish(OFFER);
    expect(await c.end()).toEqual({ deleted: false, status: 500, detail: "endpoint answered DELETE with 500" });
    expect(await c.end()).toEqual({ deleted: false });
    expect(ep.seen.filter((s) => s.method === "DELETE")).toHaveLength(1);
  });

  test("Retry-After forms", () => {
    expect(parseRetryAfter("5", 0)).toBe(5000);
    expect(parseRetryAfter(new Date(10_000).toUTCString(), 4_000)).toBe(6000);
    expect(parseRetryAfter("soon", 0)).toBeUndefined();
    expect(parseRetryAfter(null, 0)).toBeUndefined();
  });
});
