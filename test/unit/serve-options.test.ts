import { describe, expect, test } from "bun:test";
import { resolveServeOptions } from "../../src/cli/serve.ts";

describe("serve options", () => {
  const flags = { host: "127.0.0.1", port: "8080", "max-viewers": "50", log: "text", quiet: false, verbose: false };
  test("loopback without --token: publishing is open", () => {
    const o = resolveServeOptions(flags, []);
    expect(o.config.token).toBeUndefined();
    expect(o.generatedToken).toBe(false);
  });
  test("a non-loopback host without --token gets a generated token", () => {
    const o = resolveServeOptions({ ...flags, host: "0.0.0.0" }, [], () => "generated-token-123");
    expect(o.config.token).toBe("generated-token-123");
    expect(o.generatedToken).toBe(true);
  });
  test("--token is kept as given", () => {
    const o = resolveServeOptions({ ...flags, host: "0.0.0.0", token: "chosen-token-1" }, ["turn:u:p@turn.example.net:3478"]);
    expect(o.config.token).toBe("chosen-token-1");
    expect(o.generatedToken).toBe(false);
    expect(o.config.iceServers).toEqual([{ urls: "turn:turn.example.net:3478", username: "u", credential: "p" }]);
  });
});
