import { describe, expect, test } from "bun:test";
import { Logger } from "../../src/cli/log.ts";
import { Redactor, redactUrl } from "../../src/redact.ts";

const CF_SECRET = "4e48912c1e10e84c9bab3777695145dbk0072e99f6ddb152545830a794d165fce";
const CF = `https://customer-5xiy6nkciicmt85v.cloudflarestream.com/${CF_SECRET}/webRTC/publish`;

describe("URL redaction", () => {
  test.each([
    [CF, "https://customer-5xiy6nkciicmt85v.cloudflarestream.com/…/webRTC/publish"],
    ["https://live.example.com/whip/endpoint/live", "https://live.example.com/whip/endpoint/live"],
    ["https://b.example/api/whip?token=abcdef123456", "https://b.example/api/whip?…"],
    ["https://user:pw@whip.example/x", "https://…@whip.example/x"],
    ["http://127.0.0.1:8080/whip/live", "http://127.0.0.1:8080/whip/live"],
    ["https://mediamtx.example:8889/mystream/whip", "https://mediamtx.example:8889/mystream/whip"],
    ["https://janus.example/whip/endpoint/a1b2c3d4e5f6a7b8c9d0", "https://janus.example/whip/endpoint/…"],
    ["not a url", "…"],
  ])("%s", (url, shown) => {
    expect(redactUrl(url)).toBe(shown);
  });
});

describe("every log line is scrubbed of registered secrets", () => {
  test.each(["text", "json"] as const)("%s format", (format) => {
    const lines: string[] = [];
    const log = new Logger(format, "verbose", (l) => lines.push(l));
    log.redactor.add("sk_live_TOKEN123");
    log.redactor.addUrl(CF);
    log.info(`posting to ${CF} with Bearer sk_live_TOKEN123`);
    log.error(`failed: ${encodeURIComponent("sk_live_TOKEN123")} at ${CF_SECRET}`, { url: CF });
    log.debug("multi\nline\nmessage");
    const text = lines.join("\n");
    expect(text).not.toContain("sk_live_TOKEN123");
    expect(text).not.toContain(CF_SECRET);
    expect(text).toContain("customer-5xiy6nkciicmt85v.cloudflarestream.com/…/webRTC/publish");
    expect(lines).toHaveLength(3);
    if (format === "json") for (const l of lines) expect(() => JSON.parse(l)).not.toThrow();
  });

  test("quiet prints errors only", () => {
    const lines: string[] = [];
    const log = new Logger("text", "quiet", (l) => lines.push(l));
    log.info("hello");
    log.warn("careful");
    log.error("broken");
    expect(lines).toEqual(["whipcast: error: broken"]);
  });

  test("a secret inside a longer secret is removed whole", () => {
    const r = new Redactor();
    r.add("abcd");
    r.add("xxabcdyy");
    expect(r.scrub("k=xxabcdyy")).toBe("k=…");
  });
});
