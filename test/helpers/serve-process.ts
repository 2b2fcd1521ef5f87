import type { Subprocess } from "bun";
import { binary } from "./binary.ts";

export interface ServeProcess {
  origin: string;
  proc: Subprocess<"ignore", "pipe", "pipe">;
  stdout: Promise<string>;
  stdoutSoFar: () => string;
  stderr: Promise<string>;
}

/**
 * Start the compiled `whipcast serve` on a free port; resolves with its origin once it listens.
 * `cleanups` gets the kill, for the scenario's finally.
 */
export async function startServe(args: string[], cleanups: (() => unknown)[]): Promise<ServeProcess> {
  const proc = Bun.spawn([binary(), "serve", "--port", "0", ...args], { stdin: "ignore", stdout: "pipe", stderr: "pipe" });
  cleanups.push(() => proc.kill("SIGKILL"));
  const [a, b] = proc.stderr.tee();
  const stderr = new Response(b).text();
  const reader = a.pipeThrough(new TextDecoderStream()).getReader();
  let text = "";
  for (;;) {
    const { done, value } = await reader.read();
    if (done) throw new Error(`serve exited before listening: ${text}`);
    text += value;
    const m = /serving on (http:\/\/[\d.]+:\d+)/.exec(text);
    if (m) {
      void (async () => {
        while (!(await reader.read()).done);
      })();
      // Collected as it comes, so a scenario can read a line (a generated token) while serve runs.
      const out = { text: "" };
      const stdout = (async () => {
        const r = proc.stdout.pipeThrough(new TextDecoderStream()).getReader();
        for (let c = await r.read(); !c.done; c = await r.read()) out.text += c.value;
        return out.text;
      })();
      return { origin: m[1]!.replace("//0.0.0.0:", "//127.0.0.1:"), proc, stdout, stdoutSoFar: () => out.text, stderr };
    }
  }
}
