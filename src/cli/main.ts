#!/usr/bin/env bun
import { readFileSync, statSync } from "node:fs";
import { type ArgsDef, type CommandDef, defineCommand, parseArgs, renderUsage, runCommand } from "citty";
import pkg from "../../package.json" with { type: "json" };
import { InternalError, UsageError, WhipcastError } from "../errors.ts";
import { formatDeviceList, listDevices } from "../media/devices.ts";
import { locateFfmpeg } from "../media/ffmpeg-locate.ts";
import { ffmpegVersion } from "../media/ffmpeg-run.ts";
import { redactUrl } from "../redact.ts";
import { buildCommit, VERSION } from "../version.ts";
import { checkArgs, COMMANDS, completionsArgs, devicesArgs, doctorArgs, publishArgs, serveArgs, serviceInstallArgs, serviceNameArgs, SHELLS } from "./args.ts";
import { type CheckFlags, runCheck } from "./check.ts";
import { completionScript, type Shell } from "./completions.ts";
import { mergeConfig, parseConfig } from "./config-file.ts";
import { type DoctorFlags, runDoctor } from "./doctor.ts";
import { EXIT_INTERNAL, EXIT_INTERRUPTED, EXIT_OK, EXIT_STATUS } from "./exit-codes.ts";
import { Logger } from "./log.ts";
import { type PublishFlags, repeatedFlag, resolvePublishOptions } from "./options.ts";
import { startPublish } from "./publish.ts";
import { acquireRunLock, type RunLock } from "./run-lock.ts";
import { resolveServeOptions, type ServeFlags, startServerWorker } from "./serve.ts";
import { installService, serviceStatus, uninstallService } from "./service.ts";
import { StatusLine } from "./status-line.ts";
import { forStream, styled } from "./terminal.ts";

/** A command's name and description, from the command table (args.ts): `meta("service install")`. */
function meta(path: string): { name: string; description: string } {
  const [top, sub] = path.split(" ");
  const spec = COMMANDS.find((c) => c.name === top);
  const found = sub === undefined ? spec : spec?.subCommands?.find((c) => c.name === sub);
  if (!found) throw new InternalError(`no command ${path} in the command table`);
  return { name: found.name, description: found.description };
}

/** Set by the command that ran; read once citty returns. */
let exitStatus = EXIT_OK;

/** `--config FILE`: its settings under the command line's (config-file.ts). */
function withConfig(rawArgs: string[]): { rawArgs: string[]; url: string | undefined } {
  const file = repeatedFlag(rawArgs, "config").at(-1);
  if (file === undefined) return { rawArgs, url: undefined };
  let text: string;
  try {
    text = readFileSync(file, "utf8");
  } catch (error) {
    throw new UsageError(`--config ${file}: ${(error as NodeJS.ErrnoException).code === "ENOENT" ? "no such file" : "cannot read it"}`);
  }
  const settings = parseConfig(text, file, publishArgs);
  // A token in the file is a secret on disk: only its owner may read it.
  const mode = statSync(file).mode & 0o777;
  if (settings.keys.includes("token") && (mode & 0o077) !== 0) {
    throw new UsageError(`--config ${file} holds a token but others may read it (mode ${mode.toString(8)}); chmod 600 it, or use token-file`);
  }
  return { rawArgs: mergeConfig(settings, rawArgs, publishArgs), url: settings.url };
}

const publish = defineCommand({
  meta: meta("publish"),
  args: publishArgs,
  async run({ rawArgs: given }) {
    rejectUnknownFlags(given, publishArgs);
    const config = withConfig(given);
    const rawArgs = config.rawArgs;
    const args = parseArgs(rawArgs, publishArgs) as unknown as PublishFlags;
    if (args.url === undefined && config.url !== undefined) args.url = config.url;
    const opts = resolvePublishOptions(args, repeatedFlag(rawArgs, "ice-server"), process.env);
    // On a terminal, one status line rewritten each second; log lines print above it.
    const statusLine = styled(process.stderr) && opts.log === "text" && opts.verbosity !== "quiet" ? new StatusLine(process.stderr) : undefined;
    const log = new Logger(opts.log, opts.verbosity, statusLine ? (line) => statusLine.print(line) : undefined);
    // Two overlapping runs for one stream (a cron show that overran) must not fight over it.
    let lock: RunLock | undefined;
    if (opts.url !== undefined && opts.lock) {
      log.redactor.addUrl(opts.url);
      lock = acquireRunLock(opts.url, redactUrl(opts.url));
    }
    const run = startPublish(opts, log, statusLine ? { statusLine } : {});
    let interrupts = 0;
    const onSignal = (signal: NodeJS.Signals) => {
      if (signal === "SIGINT" && ++interrupts > 1) {
        log.warn("interrupted again; exiting without cleanup");
        lock?.release();
        process.exit(EXIT_INTERRUPTED);
      }
      run.stop(signal);
    };
    process.on("SIGINT", onSignal);
    process.on("SIGTERM", onSignal);
    const error = await run.done;
    lock?.release();
    statusLine?.clear();
    process.off("SIGINT", onSignal);
    process.off("SIGTERM", onSignal);
    if (error) {
      log.error(error.message);
      exitStatus = EXIT_STATUS[error.code];
    } else log.info("stopped");
  },
});

const serve = defineCommand({
  meta: meta("serve"),
  args: serveArgs,
  async run({ args, rawArgs }) {
    rejectUnknownFlags(rawArgs, serveArgs);
    const opts = resolveServeOptions(args as unknown as ServeFlags, repeatedFlag(rawArgs, "ice-server"));
    const log = new Logger(opts.log, opts.verbosity);
    log.redactor.add(opts.config.viewerToken);
    const server = await startServerWorker(opts.config, log);
    if (opts.generatedToken) {
      // Shown once, on stdout, so a script can capture it; never logged.
      process.stdout.write(`publish token (generated; pass --token to choose one): ${opts.config.token}\n`);
    }
    log.redactor.add(opts.config.token);
    log.info(`serving on ${server.origin} (publish to ${server.origin}/whip/NAME, watch at ${server.origin}/)`);
    const signal = await new Promise<NodeJS.Signals>((resolve) => {
      process.once("SIGINT", resolve);
      process.once("SIGTERM", resolve);
    });
    log.info(`${signal}: closing every session`);
    const onSecond = () => process.exit(EXIT_INTERRUPTED);
    process.once("SIGINT", onSecond);
    await server.stop();
    log.info("stopped");
  },
});

const devices = defineCommand({
  meta: meta("devices"),
  args: devicesArgs,
  async run({ args, rawArgs }) {
    rejectUnknownFlags(rawArgs, devicesArgs);
    const ffmpeg = await locateFfmpeg(args.ffmpeg);
    const list = await listDevices(ffmpeg.path, process.platform === "darwin" ? "darwin" : "linux");
    process.stdout.write(`${args.json ? JSON.stringify(list, null, 2) : formatDeviceList(list)}\n`);
  },
});

const check = defineCommand({
  meta: meta("check"),
  args: checkArgs,
  async run({ rawArgs }) {
    rejectUnknownFlags(rawArgs, checkArgs);
    exitStatus = await runCheck(parseArgs(rawArgs, checkArgs) as unknown as CheckFlags, repeatedFlag(rawArgs, "ice-server"));
  },
});

const doctor = defineCommand({
  meta: meta("doctor"),
  args: doctorArgs,
  async run({ rawArgs }) {
    rejectUnknownFlags(rawArgs, doctorArgs);
    exitStatus = await runDoctor(parseArgs(rawArgs, doctorArgs) as unknown as DoctorFlags);
  },
});

/** `service uninstall NAME` and `service status NAME`: one name, one action. */
function serviceNameCommand(sub: "uninstall" | "status", action: (name: string) => Promise<number>) {
  return defineCommand({
    meta: meta(`service ${sub}`),
    args: serviceNameArgs,
    async run({ args, rawArgs }) {
      rejectUnknownFlags(rawArgs, serviceNameArgs);
      exitStatus = await action(args.name);
    },
  });
}

const service = defineCommand({
  meta: meta("service"),
  subCommands: {
    install: defineCommand({
      meta: meta("service install"),
      args: serviceInstallArgs,
      async run({ rawArgs }) {
        const dashes = rawArgs.indexOf("--");
        const own = dashes < 0 ? rawArgs : rawArgs.slice(0, dashes);
        rejectUnknownFlags(own, serviceInstallArgs);
        const name = own.find((a) => !a.startsWith("-"));
        if (name === undefined) throw new UsageError("service install needs a NAME: whipcast service install NAME -- publish URL [flags]");
        if (dashes < 0) throw new UsageError("service install needs the command to run after --: whipcast service install NAME -- publish URL [flags]");
        exitStatus = await installService(name, rawArgs.slice(dashes + 1));
      },
    }),
    uninstall: serviceNameCommand("uninstall", uninstallService),
    status: serviceNameCommand("status", serviceStatus),
  },
});

const completions = defineCommand({
  meta: meta("completions"),
  args: completionsArgs,
  async run({ args, rawArgs }) {
    rejectUnknownFlags(rawArgs, completionsArgs);
    if (!(SHELLS as readonly string[]).includes(args.shell)) throw new UsageError(`completions: the shell must be one of ${SHELLS.join(", ")} (got ${args.shell})`);
    process.stdout.write(completionScript(args.shell as Shell, COMMANDS));
  },
});

const SUBCOMMANDS = { publish, serve, devices, check, doctor, service, completions } as Record<string, CommandDef>;

const main = defineCommand({
  meta: { name: "whipcast", version: VERSION, description: pkg.description },
  subCommands: SUBCOMMANDS,
});

/** citty ignores flags it does not know; a typo must not silently fall back to a default. */
function rejectUnknownFlags(rawArgs: string[], defs: ArgsDef): void {
  const known = new Set<string>();
  for (const [name, def] of Object.entries(defs)) {
    known.add(name);
    if (def.type === "boolean") known.add(`no-${name}`);
  }
  for (const a of rawArgs) {
    if (a === "--") break;
    if (!a.startsWith("--")) continue;
    const name = a.slice(2).split("=")[0]!;
    if (!known.has(name)) throw new UsageError(`unknown flag --${name} (see --help)`);
  }
}

async function usage(rawArgs: string[]): Promise<string> {
  const words = rawArgs.filter((a) => !a.startsWith("-"));
  const sub = words[0] !== undefined ? SUBCOMMANDS[words[0]] : undefined;
  if (!sub) return renderUsage(main);
  const nested = (sub.subCommands as Record<string, CommandDef> | undefined)?.[words[1] ?? ""];
  // A nested command's usage line names the whole command: `whipcast service install`.
  return nested ? renderUsage(nested, { ...sub, meta: { ...(sub.meta as object), name: `whipcast ${words[0]}` } } as CommandDef) : renderUsage(sub, main);
}

/** `whipcast --version`: the version, the commit it was built from, and the ffmpeg it would run. */
async function versionText(): Promise<string> {
  const lines = [`whipcast ${VERSION} (commit ${buildCommit()})`];
  try {
    const ffmpeg = await locateFfmpeg(undefined);
    lines.push(`ffmpeg ${(await ffmpegVersion(ffmpeg.path)) ?? "(version unknown)"}: ${ffmpeg.path} (${ffmpeg.origin})`);
  } catch (error) {
    lines.push(`ffmpeg: ${error instanceof Error ? error.message : String(error)}`);
  }
  return lines.join("\n");
}

async function cli(rawArgs: string[]): Promise<number> {
  const own = rawArgs.includes("--") ? rawArgs.slice(0, rawArgs.indexOf("--")) : rawArgs;
  if (own.includes("--version") || own.includes("-v")) {
    process.stdout.write(`${await versionText()}\n`);
    return EXIT_OK;
  }
  if (own.includes("--help") || own.includes("-h") || rawArgs.length === 0) {
    process.stdout.write(`${forStream(await usage(own), process.stdout)}\n`);
    return rawArgs.length === 0 ? 2 : EXIT_OK;
  }
  const sub = rawArgs[0]!;
  if (!(sub in SUBCOMMANDS)) throw new UsageError(`unknown command ${sub}; expected ${Object.keys(SUBCOMMANDS).join(", ")} (see --help)`);
  if (sub === "service" && !["install", "uninstall", "status"].includes(rawArgs[1] ?? "")) {
    throw new UsageError(`service needs install, uninstall or status${rawArgs[1] ? ` (got ${rawArgs[1]})` : ""} (see whipcast service --help)`);
  }
  await runCommand(main, { rawArgs });
  return exitStatus;
}

try {
  process.exitCode = await cli(process.argv.slice(2));
} catch (error) {
  if (error instanceof WhipcastError) {
    process.stderr.write(`whipcast: error: ${error.message}\n`);
    process.exitCode = EXIT_STATUS[error.code];
  } else if (error instanceof Error && error.name === "CLIError") {
    // citty's own argument errors (a missing NAME) are usage errors too.
    process.stderr.write(`whipcast: error: ${forStream(error.message, { isTTY: false })} (see --help)\n`);
    process.exitCode = EXIT_STATUS.usage;
  } else {
    const message = error instanceof Error ? error.message : String(error);
    process.stderr.write(`whipcast: error: ${message.split("\n")[0]}\n`);
    process.exitCode = EXIT_INTERNAL;
  }
}
// Workers and sockets must not keep a finished run alive.
process.exit(process.exitCode ?? 0);
