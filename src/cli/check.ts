import { UsageError } from "../errors.ts";
import { Redactor, redactUrl } from "../redact.ts";
import { parseIceServerFlag } from "../whip/ice-server-url.ts";
import { type CheckStep, checkEndpoint } from "../whip/endpoint-check.ts";
import { EXIT_OK, EXIT_STATUS } from "./exit-codes.ts";
import { LOG_FORMATS, parseEndpoint, resolveToken } from "./options.ts";
import { reportLine, styled } from "./terminal.ts";
import { parseNumber } from "./units.ts";

export interface CheckFlags {
  url?: string;
  token?: string;
  "token-file"?: string;
  "connect-timeout": string;
  log: string;
}

/** One step as a line: mark, step, what was found, and what to do when it is not right. */
export function formatStep(s: CheckStep, colour: boolean): string {
  return reportLine(s.result, s.step, s.message, s.hint, colour);
}

/** `whipcast check URL`: prints each step as it completes (or one JSON object), returns publish's exit status. */
export async function runCheck(flags: CheckFlags, iceFlags: string[], env = process.env, out: { write(s: string): unknown; isTTY?: boolean } = process.stdout): Promise<number> {
  const raw = flags.url ?? (env.WHIP_URL?.trim() || undefined);
  if (raw === undefined) throw new UsageError("check needs the WHIP endpoint: whipcast check URL (or set WHIP_URL)");
  const endpoint = parseEndpoint(raw, flags.url !== undefined ? "URL" : "WHIP_URL");
  const token = resolveToken(flags, env);
  const timeoutMs = parseNumber("--connect-timeout", flags["connect-timeout"], 1, 300, false) * 1000;
  if (!(LOG_FORMATS as readonly string[]).includes(flags.log)) throw new UsageError(`--log must be one of ${LOG_FORMATS.join(", ")} (got ${flags.log})`);
  const iceServers = iceFlags.map(parseIceServerFlag);
  const redactor = new Redactor();
  redactor.add(token);
  redactor.addUrl(endpoint);
  for (const s of iceServers) redactor.add(s.credential);
  const json = flags.log === "json";
  const colour = styled(out, env);
  const scrub = (s: CheckStep): CheckStep => ({ ...s, message: redactor.scrub(s.message), ...(s.hint ? { hint: redactor.scrub(s.hint) } : {}) });
  if (!json) out.write(`checking ${redactUrl(endpoint)}\n`);
  const report = await checkEndpoint({
    endpoint,
    token,
    iceServers,
    timeoutMs,
    loopbackCandidates: env.WHIPCAST_LOOPBACK_CANDIDATES !== "0",
    onStep: (s) => {
      if (!json) out.write(`${formatStep(scrub(s), colour)}\n`);
    },
  });
  const status = report.error ? EXIT_STATUS[report.error.code] : EXIT_OK;
  if (json) {
    out.write(`${JSON.stringify({ endpoint: redactUrl(endpoint), ok: report.error === undefined, exitStatus: status, steps: report.steps.map(scrub) })}\n`);
  }
  return status;
}
