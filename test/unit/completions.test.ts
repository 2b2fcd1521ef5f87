import { describe, expect, test } from "bun:test";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { COMMANDS, publishArgs } from "../../src/cli/args.ts";
import { completionScript } from "../../src/cli/completions.ts";

/** The generated scripts, run by the real shells: bash's function called as bash calls it, fish's `complete -C`. */
const dir = mkdtempSync(join(tmpdir(), "whipcast-completions-"));
process.on("exit", () => rmSync(dir, { recursive: true, force: true }));
const file = (shell: "bash" | "zsh" | "fish") => {
  const path = join(dir, `whipcast.${shell}`);
  writeFileSync(path, completionScript(shell, COMMANDS));
  return path;
};

function bash(words: string[]): string[] {
  const script = `source ${file("bash")}\nCOMP_WORDS=(${words.map((w) => `'${w}'`).join(" ")})\nCOMP_CWORD=${words.length - 1}\n_whipcast\nprintf '%s\\n' "\${COMPREPLY[@]}"`;
  return Bun.spawnSync(["bash", "-c", script]).stdout.toString().split("\n").filter((l) => l !== "");
}

function fish(line: string): string[] {
  return Bun.spawnSync(["fish", "-c", `source ${file("fish")}; complete -C "${line}"`]).stdout.toString().split("\n").filter((l) => l !== "").map((l) => l.split("\t")[0]!);
}

describe("shell completions, generated from the flag table", () => {
  test("each shell parses its script", () => {
    for (const shell of ["bash", "zsh", "fish"] as const) {
      const r = Bun.spawnSync([shell, "-n", file(shell)], { stderr: "pipe" });
      expect({ shell, code: r.exitCode, stderr: r.stderr.toString() }).toEqual({ shell, code: 0, stderr: "" });
    }
  });

  test("every publish flag is in every script", () => {
    const flags = Object.entries(publishArgs).filter(([, d]) => d.type !== "positional").map(([n]) => `--${n}`);
    for (const shell of ["bash", "zsh", "fish"] as const) {
      const text = completionScript(shell, COMMANDS);
      const missing = flags.filter((f) => !(shell === "fish" ? text.includes(`-l ${f.slice(2)} `) : text.includes(f)));
      expect({ shell, missing }).toEqual({ shell, missing: [] });
    }
  });

  test("bash: commands, flags, flag values, subcommands, and publish's flags after service install --", () => {
    expect(bash(["whipcast", ""])).toEqual(["publish", "serve", "devices", "check", "doctor", "service", "completions", "--help", "--version"]);
    expect(bash(["whipcast", "publish", "--enc"])).toEqual(["--encoder"]);
    expect(bash(["whipcast", "publish", "--encoder", ""])).toEqual(["auto", "videotoolbox", "nvenc", "vaapi", "x264"]);
    expect(bash(["whipcast", "publish", "--source", "t"])).toContain("test");
    expect(bash(["whipcast", "service", ""])).toEqual(["install", "uninstall", "status", "--help"]);
    expect(bash(["whipcast", "service", "install", "show", "--", "publish", "--no-a"])).toEqual(["--no-adapt", "--no-audio"]);
    expect(bash(["whipcast", "completions", ""])).toEqual(["--help", "bash", "zsh", "fish"]);
  });

  test("fish: the same, as fish lists them", () => {
    expect(fish("whipcast publish --encoder ").sort()).toEqual(["auto", "nvenc", "vaapi", "videotoolbox", "x264"]);
    expect(fish("whipcast service ").sort()).toEqual(["install", "status", "uninstall"]);
    expect(fish("whipcast doc")).toEqual(["doctor"]);
  });
});
