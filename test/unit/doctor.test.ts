import { describe, expect, test } from "bun:test";
import { clockFinding, deviceFindings, encoderFindings, parseStunFlag } from "../../src/cli/doctor.ts";
import { UsageError } from "../../src/errors.ts";

/** doctor's judgements, with the clocks and the machine's findings injected. */
describe("the clock", () => {
  const builtAt = Date.parse("2026-12-01T00:00:00Z");
  const clocks = (start: number, wallStepMs: number) => {
    let wall = start;
    let mono = 1_000;
    return { now: () => wall, monotonic: () => mono, sleep: async (ms: number) => void ((mono += ms), (wall += wallStepMs)) };
  };

  test("after the build, moving with the monotonic clock: ✓", async () => {
    const c = clocks(Date.parse("2026-12-02T03:00:00Z"), 200);
    expect(await clockFinding(c.now, c.monotonic, builtAt, c.sleep)).toEqual({ topic: "clock", result: "ok", message: "2026-12-02T03:00:00Z, steady (0 ms apart from the monotonic clock over 200 ms)", data: { now: "2026-12-02T03:00:00Z", driftMs: 0 } });
  });

  test("before this build was made (a dead RTC battery, no NTP): ✗ with the fix", async () => {
    const c = clocks(Date.parse("1970-01-01T00:10:00Z"), 200);
    const f = await clockFinding(c.now, c.monotonic, builtAt, c.sleep);
    expect(f.result).toBe("fail");
    expect(f.message).toBe("the clock says 1970-01-01T00:10:00Z, before this whipcast was built (2026-12-01)");
    expect(f.hint).toStartWith("set the time (timedatectl set-ntp true");
  });

  test("stepped while measured (NTP correcting): ⚠ with the drift", async () => {
    const c = clocks(Date.parse("2026-12-02T03:00:00Z"), 1_200);
    const f = await clockFinding(c.now, c.monotonic, builtAt, c.sleep);
    expect(f.result).toBe("warn");
    expect(f.message).toBe("the wall clock moved 1000 ms apart from the monotonic clock in 200 ms");
  });
});

describe("encoders and devices", () => {
  test("an encoder that works, one listed that does not (with its hardware hint), one not in this ffmpeg", () => {
    expect(encoderFindings([
      { encoder: "x264", listed: true, works: true },
      { encoder: "nvenc", listed: true, works: false, reason: "Cannot load libcuda.so.1" },
      { encoder: "vaapi", listed: false, works: false, reason: "this ffmpeg has no h264_vaapi" },
    ]).map((f) => `${f.result} ${f.topic}: ${f.message}${f.hint ? ` — ${f.hint}` : ""}`)).toEqual([
      "ok x264: libx264 encodes",
      "fail nvenc: h264_nvenc is listed but does not encode: Cannot load libcuda.so.1 — needs an NVIDIA GPU and its driver (libcuda)",
      "fail vaapi: this ffmpeg has no h264_vaapi",
    ]);
  });

  test("macOS: the devices found, and the permission each capture needs", () => {
    const findings = deviceFindings({ cameras: [{ id: "0", name: "FaceTime HD Camera" }], microphones: [{ id: "0", name: "MacBook Pro Microphone" }], screens: [] }, "darwin", {});
    expect(findings.map((f) => `${f.result} ${f.topic}: ${f.message}`)).toEqual([
      "ok cameras: 1: 0 (FaceTime HD Camera)",
      "ok microphones: 1: 0 (MacBook Pro Microphone)",
      "warn screens: none found",
      "warn permissions: macOS asks once per program for the camera, the microphone and screen recording",
    ]);
    expect(findings.at(-1)!.hint).toContain("a launchd service has no one to answer it");
    expect(findings[2]!.hint).toBe("allow Screen Recording for this program (below)");
  });

  test("Linux under Wayland: why --source screen finds no screen", () => {
    const screens = deviceFindings({ cameras: [], microphones: [], screens: [] }, "linux", { WAYLAND_DISPLAY: "wayland-0" }).find((f) => f.topic === "screens")!;
    expect(screens.hint).toBe("a Wayland session: --source screen captures an X display (DISPLAY) only");
  });
});

describe("--stun", () => {
  test.each([
    ["stun:stun.example.com:19302", { host: "stun.example.com", port: 19302 }],
    ["stun:stun.example.com", { host: "stun.example.com", port: 3478 }],
    ["127.0.0.1:3478", { host: "127.0.0.1", port: 3478 }],
    ["stun:[::1]:3478", { host: "::1", port: 3478 }],
  ])("%s", (value, expected) => {
    expect(parseStunFlag(value)).toEqual(expected);
  });

  test.each(["turn:x", "stun:host:99999", "stun:", "http://x"])("%s is refused", (value) => {
    expect(() => parseStunFlag(value)).toThrow(new UsageError(`--stun must be stun:HOST or stun:HOST:PORT (got ${value})`));
  });
});
