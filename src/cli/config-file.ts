import type { ArgsDef } from "citty";
import { UsageError } from "../errors.ts";

/**
 * `publish --config FILE`: the settings a service or a cron job would otherwise repeat on its
 * command line, one per line:
 *
 *   # comments and blank lines are ignored
 *   url = https://example.com/whip/show
 *   token-file = /Users/me/.config/whipcast/token
 *   source = camera
 *   no-audio
 *
 * Keys are publish's flags without the dashes (and `url`); a bare key sets a boolean flag and
 * `no-KEY` clears it. Values may be quoted. A flag on the command line wins over the file.
 */
export interface ConfigSettings {
  url?: string;
  /** The file's flags, as command-line arguments. */
  args: string[];
  /** The keys the file set (`no-audio` sets `audio`). */
  keys: string[];
}

export function parseConfig(text: string, file: string, defs: ArgsDef): ConfigSettings {
  const out: ConfigSettings = { args: [], keys: [] };
  const lines = text.split(/\r?\n/);
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i]!.trim();
    if (line === "" || line.startsWith("#")) continue;
    const at = `${file} line ${i + 1}`;
    const eq = line.indexOf("=");
    const key = (eq < 0 ? line : line.slice(0, eq)).trim().replace(/^--/, "");
    const value = eq < 0 ? undefined : unquote(line.slice(eq + 1).trim());
    const negated = key.startsWith("no-") && defs[key.slice(3)]?.type === "boolean";
    const name = negated ? key.slice(3) : key;
    const def = defs[name];
    if (!def || name === "config") throw new UsageError(`${at}: unknown setting ${key} (settings are publish's flags, as in whipcast publish --help)`);
    if (def.type === "positional") {
      if (value === undefined || value === "") throw new UsageError(`${at}: ${key} needs a value (${key} = ...)`);
      out.url = value;
    } else if (def.type === "boolean") {
      const on = value === undefined ? !negated : parseBoolean(value, at, key) !== negated;
      out.args.push(on ? `--${name}` : `--no-${name}`);
    } else {
      if (value === undefined || value === "") throw new UsageError(`${at}: ${key} needs a value (${key} = ...)`);
      out.args.push(`--${name}`, value);
    }
    if (!out.keys.includes(name)) out.keys.push(name);
  }
  return out;
}

function parseBoolean(value: string, at: string, key: string): boolean {
  if (/^(true|yes|on|1)$/i.test(value)) return true;
  if (/^(false|no|off|0)$/i.test(value)) return false;
  throw new UsageError(`${at}: ${key} must be true or false (got ${value})`);
}

function unquote(value: string): string {
  const m = /^"(.*)"$|^'(.*)'$/.exec(value);
  return m ? (m[1] ?? m[2])! : value;
}

/** The flags a command line sets, by name (`--no-audio` and `--audio=x` name `audio`). */
export function flagsGiven(rawArgs: string[], defs: ArgsDef): Set<string> {
  const given = new Set<string>();
  for (const a of rawArgs) {
    if (!a.startsWith("--") || a === "--") continue;
    const name = a.slice(2).split("=")[0]!;
    given.add(name.startsWith("no-") && defs[name.slice(3)]?.type === "boolean" ? name.slice(3) : name);
  }
  return given;
}

/** The file's settings under the command line's: a flag given on the command line replaces the file's. */
export function mergeConfig(settings: ConfigSettings, rawArgs: string[], defs: ArgsDef): string[] {
  const given = flagsGiven(rawArgs, defs);
  const kept: string[] = [];
  for (let i = 0; i < settings.args.length; i++) {
    const a = settings.args[i]!;
    const name = a.startsWith("--no-") && defs[a.slice(5)]?.type === "boolean" ? a.slice(5) : a.slice(2);
    const takesValue = defs[name]?.type === "string";
    if (!given.has(name)) kept.push(a, ...(takesValue ? [settings.args[i + 1]!] : []));
    if (takesValue) i++;
  }
  return [...kept, ...withoutConfig(rawArgs)];
}

/** rawArgs less `--config PATH` / `--config=PATH`. */
export function withoutConfig(rawArgs: string[]): string[] {
  const out: string[] = [];
  for (let i = 0; i < rawArgs.length; i++) {
    const a = rawArgs[i]!;
    if (a === "--config") i++;
    else if (!a.startsWith("--config=")) out.push(a);
  }
  return out;
}
