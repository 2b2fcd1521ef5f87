import { beforeAll, describe, expect, test } from "bun:test";
import { runInNamespace } from "./run-scenario.ts";

/**
 * `whipcast check` against `whipcast serve`, and against endpoints that each get one thing wrong
 * (check-scenario.ts, in a loopback-only namespace). Each must give its one ✗ line with its
 * hint, publish's exit status, and no session left behind where one was created.
 */
interface Case {
  lines: string[];
  stderr: string;
  exitCode: number;
  ms: number;
  seen?: { method: string; path: string; status: number }[];
}

let r: Record<"serve" | "json" | "absolute" | "unauthorized" | "nolocation" | "vp8" | "noice", Case>;
beforeAll(async () => {
  r = await runInNamespace("check-scenario.ts", {});
}, 60_000);

const steps = (c: Case) => c.lines.slice(1).map((l) => `${l.slice(0, 1)} ${l.slice(2).split(" ")[0]}`);
const line = (c: Case, step: string) => c.lines.find((l) => l.slice(2).startsWith(`${step} `)) ?? "";
const deletes = (c: Case) => (c.seen ?? []).filter((s) => s.method === "DELETE").map((s) => s.status);

describe("whipcast check", () => {
  test("against serve: every step ✓, the session deleted and confirmed gone, exit 0", () => {
    const c = r.serve;
    expect(c.exitCode).toBe(0);
    expect(steps(c)).toEqual(["✓ options", "✓ post", "✓ location", "✓ etag", "✓ ice-servers", "✓ h264", "✓ opus", "✓ ice", "✓ dtls", "✓ delete"]);
    expect(line(c, "location")).toContain("Location is relative (/whip/direct/");
    expect(line(c, "h264")).toContain("profile-level-id 42e01f, packetization-mode 1");
    expect(line(c, "ice")).toMatch(/ICE connected in \d+ ms: host 127\.0\.0\.1:\d+ ↔ host 127\.0\.0\.1:\d+ \(udp\), RTT [\d.]+ ms/);
    expect(line(c, "delete")).toContain("DELETE answered 200: session deleted (confirmed: the resource now answers 404)");
    expect(c.stderr).toBe("");
  });

  test("--log json: the same steps as one object", () => {
    const c = r.json;
    expect(c.exitCode).toBe(0);
    expect(c.lines.length).toBe(1);
    const o = JSON.parse(c.lines[0]!) as { ok: boolean; exitStatus: number; steps: { step: string; result: string; data?: Record<string, unknown> }[] };
    expect(o.ok).toBe(true);
    expect(o.exitStatus).toBe(0);
    expect(o.steps.map((s) => `${s.result} ${s.step}`)).toEqual(["ok options", "ok post", "ok location", "ok etag", "ok ice-servers", "ok h264", "ok opus", "ok ice", "ok dtls", "ok delete"]);
    expect(o.steps.find((s) => s.step === "ice")?.data).toMatchObject({ protocol: "udp" });
  });

  test("an absolute Location is reported as such, and the token is never printed", () => {
    const c = r.absolute;
    expect(c.exitCode).toBe(0);
    expect(line(c, "location")).toMatch(/✓ location +Location is absolute: http:\/\/127\.0\.0\.1:\d+\/whip\/absolute\/…/);
    expect(deletes(c)).toEqual([200, 404]);
    expect(`${c.lines.join("\n")}${c.stderr}`).not.toContain("tok3n-that-must-never-be-printed");
  });

  test("401: ✗ post with the token hint, exit 3, nothing to delete", () => {
    const c = r.unauthorized;
    expect(c.exitCode).toBe(3);
    expect(steps(c)).toEqual(["✓ options", "✗ post"]);
    expect(line(c, "post")).toBe("✗ post         endpoint refused the stream: 401 Unauthorized — the endpoint wants a token: pass --token-file PATH or set WHIP_TOKEN");
    expect(deletes(c)).toEqual([]);
  });

  test("no Location: ✗ location naming RFC 9725 §4.2, exit 3 (nothing can be deleted without it)", () => {
    const c = r.nolocation;
    expect(c.exitCode).toBe(3);
    expect(steps(c)).toEqual(["✓ options", "✗ location"]);
    expect(line(c, "location")).toContain("endpoint answered 201 without a Location header — the server must send Location (RFC 9725 §4.2)");
    expect(deletes(c)).toEqual([]);
  });

  test("a VP8-only answer: ✗ h264 with the VP8 hint, exit 3, the session deleted", () => {
    const c = r.vp8;
    expect(c.exitCode).toBe(3);
    expect(steps(c)).toEqual(["✓ options", "✓ post", "✓ location", "✓ etag", "✓ ice-servers", "✗ h264", "✓ delete"]);
    expect(line(c, "h264")).toBe("✗ h264         the server answered without H.264 (it chose VP8) — this room may only accept VP8: whipcast sends H.264 only");
    expect(deletes(c)).toEqual([200, 404]);
  });

  test("ICE that never completes: ✗ ice after --connect-timeout with the firewall hint, exit 6, the session deleted", () => {
    const c = r.noice;
    expect(c.exitCode).toBe(6);
    expect(steps(c)).toEqual(["✓ options", "✓ post", "✓ location", "✓ etag", "✓ ice-servers", "✓ h264", "✓ opus", "✗ ice", "✓ delete"]);
    expect(line(c, "ice")).toBe("✗ ice          ICE did not connect within 3 s: no answer from udp 127.0.0.1:9 — UDP to the server may be blocked by a firewall: try a TURN server over TCP or TLS (--ice-server turn:USER:PASS@HOST:443?transport=tcp)");
    expect(deletes(c)).toEqual([200, 404]);
    // 3 s of ICE, and not much more: the check does not hang.
    expect(c.ms).toBeLessThan(10_000);
  });
});
