import { join } from "node:path";
import { inLoopbackNamespace } from "../helpers/netns.ts";
import type { ScenarioResult } from "./scenario.ts";

/** Run scenario.ts in its own loopback-only namespace and parse its result line. */
export async function runScenario(scenario: { args: string[]; token?: string; sigtermAfterMs?: number; lossAfterConnect?: number; endpointStunOnly?: boolean }): Promise<ScenarioResult> {
  return runInNamespace<ScenarioResult>("scenario.ts", scenario);
}

/** Run one of this folder's scenario scripts in a fresh loopback-only namespace; parse its last stdout line. */
export async function runInNamespace<R>(script: string, input: unknown): Promise<R> {
  const cmd = inLoopbackNamespace([process.execPath, join(import.meta.dir, script), JSON.stringify(input)]);
  const proc = Bun.spawn(cmd, { stdout: "pipe", stderr: "pipe" });
  const [stdout, stderr, code] = await Promise.all([new Response(proc.stdout).text(), new Response(proc.stderr).text(), proc.exited]);
  const line = stdout.trim().split("\n").pop() ?? "";
  if (code !== 0 || !line.startsWith("{")) throw new Error(`scenario failed (exit ${code}):\n${stdout}\n${stderr}`);
  return JSON.parse(line) as R;
}
