import { existsSync, statSync } from "node:fs";
import { homedir, userInfo } from "node:os";
import { resolve } from "node:path";
import { parseArgs } from "citty";
import { UsageError } from "../errors.ts";
import { redactUrl } from "../redact.ts";
import type { ServiceDefinition } from "../service/definition.ts";
import { type CommandRunner, ServiceHost, spawnRunner } from "../service/service-host.ts";
import { publishArgs } from "./args.ts";
import { EXIT_OK } from "./exit-codes.ts";
import { type PublishFlags, repeatedFlag, resolvePublishOptions } from "./options.ts";

/** Flags whose value is a path: made absolute, since a service starts in another directory. */
const PATH_FLAGS = ["token-file", "config", "ffmpeg"] as const;

export interface ServiceContext {
  platform: NodeJS.Platform;
  home: string;
  uid: number;
  env: Record<string, string | undefined>;
  cwd: string;
  run: CommandRunner;
  /** The command that starts this whipcast again: the executable, or bun and main.ts from a checkout. */
  self: string[];
  print: (line: string) => void;
}

export function defaultContext(): ServiceContext {
  return {
    platform: process.platform,
    home: process.env.HOME || homedir(),
    uid: userInfo().uid,
    env: process.env,
    cwd: process.cwd(),
    run: spawnRunner,
    self: selfCommand(process.execPath, import.meta.url),
    print: (line) => process.stdout.write(`${line}\n`),
  };
}

/**
 * This whipcast, as a service should start it. A Homebrew install runs from its versioned
 * Cellar; the `opt` link outlives upgrades, so that is what goes into the service.
 */
export function selfCommand(execPath: string, moduleUrl: string): string[] {
  if (!moduleUrl.includes("$bunfs")) return [execPath, resolve(new URL(".", moduleUrl).pathname, "main.ts")];
  const cellar = /^(.*)\/Cellar\/whipcast\/[^/]+\/bin\/whipcast$/.exec(execPath);
  return [cellar ? `${cellar[1]}/opt/whipcast/bin/whipcast` : execPath];
}

function host(ctx: ServiceContext): ServiceHost {
  if (ctx.platform !== "darwin" && ctx.platform !== "linux") throw new UsageError(`whipcast service runs launchd (macOS) or systemd (Linux) services; this is ${ctx.platform}`);
  return new ServiceHost({ platform: ctx.platform, home: ctx.home, uid: ctx.uid, env: ctx.env, run: ctx.run });
}

/**
 * The service's publish command line, checked as publish would check it, with every path made
 * absolute and `--log json` added. The token must come from a file only its owner can read: a
 * token on the command line would be written into the plist or unit.
 */
export function serviceArguments(command: string[], ctx: Pick<ServiceContext, "cwd" | "env">): string[] {
  if (command[0] !== "publish") throw new UsageError(`a service runs whipcast publish: whipcast service install NAME -- publish URL [flags] (got ${command[0] ?? "nothing"} after --)`);
  const args = command.slice(1);
  for (const a of args) {
    if (!a.startsWith("--")) continue;
    const name = a.slice(2).split("=")[0]!;
    const known = name in publishArgs || (name.startsWith("no-") && name.slice(3) in publishArgs);
    if (!known) throw new UsageError(`unknown flag --${name} (see whipcast publish --help)`);
    if (name === "token") throw new UsageError("a service must not carry its token on its command line (it would be written into the service file): use --token-file PATH, readable only by you");
  }
  const out = args.map((a, i) => {
    const prev = args[i - 1];
    if (prev !== undefined && PATH_FLAGS.some((f) => prev === `--${f}`)) return resolve(ctx.cwd, a);
    for (const f of PATH_FLAGS) if (a.startsWith(`--${f}=`)) return `--${f}=${resolve(ctx.cwd, a.slice(f.length + 3))}`;
    return a;
  });
  // A file source, too, is a path.
  const sourceAt = out.indexOf("--source");
  if (sourceAt >= 0 && out[sourceAt + 1] !== undefined && !["camera", "screen", "test"].includes(out[sourceAt + 1]!)) out[sourceAt + 1] = resolve(ctx.cwd, out[sourceAt + 1]!);
  const tokenFile = repeatedFlag(out, "token-file").at(-1);
  if (tokenFile !== undefined) {
    if (!existsSync(tokenFile)) throw new UsageError(`--token-file ${tokenFile}: no such file`);
    const mode = statSync(tokenFile).mode & 0o777;
    if ((mode & 0o077) !== 0) throw new UsageError(`--token-file ${tokenFile} may be read by others (mode ${mode.toString(8)}); chmod 600 ${tokenFile}`);
  }
  const config = repeatedFlag(out, "config").at(-1);
  // Everything publish would refuse is refused now, not at the first start under the manager.
  const parsed = parseArgs(out, publishArgs) as unknown as PublishFlags;
  if (config === undefined) {
    if (parsed.url === undefined) throw new UsageError("a service needs the WHIP URL (or --config FILE with url = ...): whipcast service install NAME -- publish URL [flags]");
    resolvePublishOptions(parsed, repeatedFlag(out, "ice-server"), {});
  } else if (!existsSync(config)) throw new UsageError(`--config ${config}: no such file`);
  if (ctx.env.WHIP_TOKEN && tokenFile === undefined && config === undefined) {
    throw new UsageError("WHIP_TOKEN is set, but a service does not inherit it: put the token in a file (chmod 600) and pass --token-file PATH");
  }
  if (repeatedFlag(out, "log").at(-1) === undefined) out.push("--log", "json");
  return out;
}

export async function installService(name: string, command: string[], ctx = defaultContext()): Promise<number> {
  ServiceHost.checkName(name);
  const h = host(ctx);
  const args = serviceArguments(command, ctx);
  const def: ServiceDefinition = { name, argv: [...ctx.self, "publish", ...args], logPath: h.logPath(name), workingDirectory: ctx.home };
  const installed = await h.install(def);
  const url = (parseArgs(args, publishArgs) as unknown as PublishFlags).url;
  ctx.print(`installed ${installed.id}${url ? ` (publish to ${redactUrl(url)})` : ""}: ${installed.file}`);
  ctx.print(`log: ${installed.logPath}`);
  if (ctx.platform === "linux") ctx.print(`to keep it running while you are logged out: loginctl enable-linger ${userInfo().username}`);
  else ctx.print("the first camera or microphone capture asks for permission: see the README, \"Services on macOS\"");
  return EXIT_OK;
}

export async function uninstallService(name: string, ctx = defaultContext()): Promise<number> {
  const removed = await host(ctx).uninstall(name);
  ctx.print(`removed ${removed.file}${existsSync(removed.logPath) ? ` (its log is kept: ${removed.logPath})` : ""}`);
  return EXIT_OK;
}

export async function serviceStatus(name: string, ctx = defaultContext()): Promise<number> {
  const s = await host(ctx).status(name);
  const parts = [`${name}: ${s.running ? "running" : s.state}`];
  if (s.pid) parts.push(`pid ${s.pid}`);
  if (s.restarts !== undefined) parts.push(`restarted ${s.restarts} time${s.restarts === 1 ? "" : "s"}`);
  if (s.lastExitStatus !== undefined) parts.push(`last exit status ${s.lastExitStatus}`);
  ctx.print(parts.join(", "));
  ctx.print(`file: ${s.file}`);
  ctx.print(`log: ${s.logPath}${s.lastLine ? `; last: ${s.lastLine}` : " (empty)"}`);
  return EXIT_OK;
}

