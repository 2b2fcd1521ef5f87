/**
 * The whipcast command lines a formula runs (its `service do` run array and its `test do`
 * shell_output strings), so that a test can hold each flag to the command table: a formula that
 * names a flag whipcast does not have must fail in CI, not on a user's `brew test`.
 */
export interface FormulaCommand {
  /** Where it was found: "service" or "test". */
  block: "service" | "test";
  command: string;
  flags: string[];
}

function block(formula: string, name: "service" | "test"): string | undefined {
  const m = new RegExp(`^  ${name} do\\n([\\s\\S]*?)^  end$`, "m").exec(formula);
  return m?.[1];
}

export function formulaCommands(formula: string): FormulaCommand[] {
  const out: FormulaCommand[] = [];
  const service = block(formula, "service");
  if (service !== undefined) {
    for (const m of service.matchAll(/run \[opt_bin\/"whipcast",([^\]]*)\]/g)) {
      const words = [...m[1]!.matchAll(/"([^"]*)"/g)].map((w) => w[1]!);
      out.push({ block: "service", command: words[0] ?? "", flags: words.filter((w) => w.startsWith("--")) });
    }
  }
  const test = block(formula, "test");
  if (test !== undefined) {
    for (const m of test.matchAll(/"#\{bin\}\/whipcast ([^"]*)"/g)) {
      const words = m[1]!.split(/\s+/);
      const command = words[0]!.startsWith("--") ? "" : words[0]!;
      out.push({ block: "test", command, flags: words.filter((w) => w.startsWith("--")) });
    }
  }
  return out;
}

export function hasBlocks(formula: string): { service: boolean; test: boolean } {
  return { service: block(formula, "service") !== undefined, test: block(formula, "test") !== undefined };
}
