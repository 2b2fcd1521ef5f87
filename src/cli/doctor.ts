import { accessSync, constants, existsSync, readdirSync } from "node:fs";
import { EndpointUnreachableError, MediaError, UsageError, type WhipcastError } from "../errors.ts";
import { listDevices, type DeviceList } from "../media/devices.ts";
import { type EncoderTrial, FFMPEG_NAME, trialEncoders } from "../media/encoder-select.ts";
import type { Os } from "../media/ffmpeg-args.ts";
import { locateFfmpeg, NO_FFMPEG } from "../media/ffmpeg-locate.ts";
import { ffmpegVersion } from "../media/ffmpeg-run.ts";
import { stunBinding } from "../rtc/stun-binding.ts";
import { buildCommit, buildTime, VERSION } from "../version.ts";
import { EXIT_OK, EXIT_STATUS } from "./exit-codes.ts";
import { LOG_FORMATS } from "./options.ts";
import { reportLine, styled } from "./terminal.ts";

/**
 * `whipcast doctor`: what this machine can publish with, before a stream is due. Each finding
 * is one line (✓ works, ✗ does not, ⚠ works with a caveat), with what to do about it.
 */
export interface DoctorFlags {
  ffmpeg?: string;
  stun?: string;
  log: string;
}

export interface Finding {
  topic: string;
  result: "ok" | "warn" | "fail";
  message: string;
  hint?: string;
  data?: Record<string, string | number | boolean>;
}

export interface DoctorInput {
  os: Os;
  env: Record<string, string | undefined>;
  /** Wall and monotonic clocks, injectable for the clock finding's tests. */
  now?: () => number;
  monotonic?: () => number;
}

/** The clock: after this build was made, and moving at the monotonic clock's rate. */
export async function clockFinding(now: () => number, monotonic: () => number, builtAt: number | undefined, sleep = (ms: number) => Bun.sleep(ms)): Promise<Finding> {
  const wall0 = now();
  const mono0 = monotonic();
  await sleep(200);
  const drift = now() - wall0 - (monotonic() - mono0);
  const iso = new Date(wall0).toISOString().replace(/\.\d+Z$/, "Z");
  const data = { now: iso, driftMs: Math.round(drift) };
  if (builtAt !== undefined && wall0 < builtAt - 24 * 3600_000) {
    return { topic: "clock", result: "fail", message: `the clock says ${iso}, before this whipcast was built (${new Date(builtAt).toISOString().slice(0, 10)})`, hint: "set the time (timedatectl set-ntp true, or System Settings → Date & Time): HTTPS certificates and tokens are checked against it", data };
  }
  if (Math.abs(drift) > 50) {
    return { topic: "clock", result: "warn", message: `the wall clock moved ${Math.round(drift)} ms apart from the monotonic clock in 200 ms`, hint: "the time is being stepped (NTP correcting a large error?); lip sync and reports use the monotonic clock, so a stream is unaffected", data };
  }
  return { topic: "clock", result: "ok", message: `${iso}, steady (${Math.round(drift)} ms apart from the monotonic clock over 200 ms)`, data };
}

export function encoderFindings(trials: EncoderTrial[]): Finding[] {
  return trials.map((t): Finding => {
    const name = FFMPEG_NAME[t.encoder];
    if (t.works) return { topic: t.encoder, result: "ok", message: `${name} encodes`, data: { works: true } };
    if (!t.listed) return { topic: t.encoder, result: "fail", message: t.reason ?? `not in this ffmpeg`, data: { works: false, listed: false } };
    const hint = t.encoder === "nvenc" ? "needs an NVIDIA GPU and its driver (libcuda)" : t.encoder === "vaapi" ? "needs an Intel or AMD GPU render node (/dev/dri/renderD128) and its VA driver" : t.encoder === "videotoolbox" ? "needs macOS" : undefined;
    return { topic: t.encoder, result: "fail", message: `${name} is listed but does not encode: ${t.reason}`, ...(hint ? { hint } : {}), data: { works: false, listed: true } };
  });
}

export function deviceFindings(list: DeviceList, os: Os, env: Record<string, string | undefined>): Finding[] {
  const names = (items: { id: string; name: string }[]) => items.map((d) => (d.name && d.name !== d.id ? `${d.id} (${d.name})` : d.id)).join(", ");
  const out: Finding[] = [];
  if (list.cameras.length > 0) out.push({ topic: "cameras", result: "ok", message: `${list.cameras.length}: ${names(list.cameras)}`, data: { count: list.cameras.length } });
  else {
    let hint = "--source screen, test or a file still work";
    if (os === "linux") {
      const nodes = existsSync("/dev") ? readdirSync("/dev").filter((n) => /^video\d+$/.test(n)) : [];
      const unreadable = nodes.filter((n) => {
        try {
          accessSync(`/dev/${n}`, constants.R_OK | constants.W_OK);
          return false;
        } catch {
          return true;
        }
      });
      if (unreadable.length > 0) hint = `/dev/${unreadable[0]} exists but you may not open it: add yourself to the video group (sudo usermod -aG video $USER), then log in again`;
    }
    out.push({ topic: "cameras", result: "warn", message: "none found", hint, data: { count: 0 } });
  }
  if (list.microphones.length > 0) out.push({ topic: "microphones", result: "ok", message: `${list.microphones.length}: ${names(list.microphones)}`, data: { count: list.microphones.length } });
  else out.push({ topic: "microphones", result: "warn", message: "none found", hint: os === "linux" ? "is PulseAudio or PipeWire running for this user? --no-audio publishes video alone" : "--no-audio publishes video alone", data: { count: 0 } });
  if (list.screens.length > 0) out.push({ topic: "screens", result: "ok", message: `${list.screens.length}: ${names(list.screens)}`, data: { count: list.screens.length } });
  else out.push({ topic: "screens", result: "warn", message: "none found", hint: os === "linux" ? (env.WAYLAND_DISPLAY ? "a Wayland session: --source screen captures an X display (DISPLAY) only" : "no DISPLAY: --source screen needs an X display") : "allow Screen Recording for this program (below)", data: { count: 0 } });
  if (os === "darwin") {
    out.push({
      topic: "permissions",
      result: "warn",
      message: "macOS asks once per program for the camera, the microphone and screen recording",
      hint: "the first capture shows the prompt (System Settings → Privacy & Security); a launchd service has no one to answer it, so run one publish by hand first (README: Services on macOS)",
    });
  }
  return out;
}

export async function diagnose(flags: DoctorFlags, input: DoctorInput): Promise<{ findings: Finding[]; error: WhipcastError | undefined }> {
  const findings: Finding[] = [];
  let error: WhipcastError | undefined;
  let ffmpeg: { path: string; origin: string } | undefined;
  try {
    ffmpeg = await locateFfmpeg(flags.ffmpeg, input.env);
  } catch (e) {
    if (e instanceof UsageError) throw e;
    findings.push({ topic: "ffmpeg", result: "fail", message: "not found", hint: NO_FFMPEG.replace(/^ffmpeg not found: /, "") });
    error = e as WhipcastError;
  }
  if (ffmpeg) {
    const version = await ffmpegVersion(ffmpeg.path);
    findings.push({ topic: "ffmpeg", result: version ? "ok" : "fail", message: `${version ?? "does not run"}: ${ffmpeg.path} (from ${ffmpeg.origin})`, data: { path: ffmpeg.path, origin: ffmpeg.origin, version: version ?? "" } });
    if (!version) error = new MediaError(`${ffmpeg.path} does not run as ffmpeg`);
  }
  if (ffmpeg && !error) {
    const [trials, devices] = await Promise.all([trialEncoders(ffmpeg.path, input.os), listDevices(ffmpeg.path, input.os, input.env)]);
    findings.push(...encoderFindings(trials.filter((t) => t.encoder !== "videotoolbox" || input.os === "darwin")));
    const working = trials.filter((t) => t.works).map((t) => t.encoder);
    if (working.length === 0) {
      error = new MediaError("no H.264 encoder works in this ffmpeg");
      findings.push({ topic: "h264", result: "fail", message: "no H.264 encoder works: nothing can be published", hint: "install an ffmpeg built with libx264 (brew install ffmpeg; apt-get install ffmpeg)" });
    } else findings.push({ topic: "h264", result: "ok", message: `--encoder auto picks ${working[0]}`, data: { encoder: working[0]! } });
    findings.push(...deviceFindings(devices, input.os, input.env));
  }
  if (flags.stun !== undefined) {
    const target = parseStunFlag(flags.stun);
    const r = await stunBinding(target.host, target.port);
    if (r.ok) {
      findings.push({ topic: "udp", result: "ok", message: `${r.server} answered in ${r.rttMs < 10 ? r.rttMs.toFixed(1) : Math.round(r.rttMs)} ms${r.mapped ? `; it sees this machine as ${r.mapped.address}:${r.mapped.port}` : ""}`, data: { rttMs: Math.round(r.rttMs * 10) / 10, ...(r.mapped ? { mapped: `${r.mapped.address}:${r.mapped.port}` } : {}) } });
    } else {
      error ??= new EndpointUnreachableError(`STUN: ${r.reason}`);
      findings.push({ topic: "udp", result: "fail", message: r.reason, hint: "UDP may be blocked here: publish through a TURN server over TCP or TLS (--ice-server turn:USER:PASS@HOST:443?transport=tcp)" });
    }
  }
  findings.push(await clockFinding(input.now ?? Date.now, input.monotonic ?? (() => performance.now()), buildTime()));
  return { findings, error };
}

/** `--stun stun:HOST[:PORT]` (RFC 7064), or a bare HOST[:PORT]; port 3478 by default. */
export function parseStunFlag(value: string): { host: string; port: number } {
  const m = /^(?:stun:)?(\[[0-9a-fA-F:.]+\]|[A-Za-z0-9.-]+)(?::(\d{1,5}))?$/.exec(value.trim());
  const port = m?.[2] === undefined ? 3478 : Number(m[2]);
  if (!m || port < 1 || port > 65535) throw new UsageError(`--stun must be stun:HOST or stun:HOST:PORT (got ${value})`);
  return { host: m[1]!.replace(/^\[|\]$/g, ""), port };
}

export function formatFinding(f: Finding, colour: boolean): string {
  return reportLine(f.result, f.topic, f.message, f.hint, colour);
}

export async function runDoctor(flags: DoctorFlags, env = process.env, out: { write(s: string): unknown; isTTY?: boolean } = process.stdout): Promise<number> {
  if (!(LOG_FORMATS as readonly string[]).includes(flags.log)) throw new UsageError(`--log must be one of ${LOG_FORMATS.join(", ")} (got ${flags.log})`);
  const os: Os = process.platform === "darwin" ? "darwin" : "linux";
  const { findings, error } = await diagnose(flags, { os, env });
  const status = error ? EXIT_STATUS[error.code] : EXIT_OK;
  const whipcast = { version: VERSION, commit: buildCommit(), platform: `${process.platform}-${process.arch}` };
  if (flags.log === "json") out.write(`${JSON.stringify({ whipcast, ok: error === undefined, exitStatus: status, findings })}\n`);
  else {
    const colour = styled(out, env);
    out.write(`whipcast ${whipcast.version} (commit ${whipcast.commit}) on ${whipcast.platform}\n`);
    for (const f of findings) out.write(`${formatFinding(f, colour)}\n`);
  }
  return status;
}
