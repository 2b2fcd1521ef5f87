import { chmodSync, existsSync, mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { ServiceError, UsageError } from "../errors.ts";
import { SERVICE_NAME, type ServiceDefinition } from "./definition.ts";
import { launchdLabel, launchdPlist, parseLaunchctlPrint, type ServiceState } from "./launchd.ts";
import { parseSystemctlShow, systemdUnit, systemdUnitName } from "./systemd.ts";

/** Runs launchctl or systemctl; injectable, so tests run against a temporary HOME with no service manager. */
export type CommandRunner = (argv: string[]) => Promise<{ code: number; stdout: string; stderr: string }>;

export const spawnRunner: CommandRunner = async (argv) => {
  try {
    await using proc = Bun.spawn(argv, { stdout: "pipe", stderr: "pipe", stdin: "ignore" });
    const [stdout, stderr, code] = await Promise.all([new Response(proc.stdout).text(), new Response(proc.stderr).text(), proc.exited]);
    return { code, stdout, stderr };
  } catch (error) {
    return { code: 127, stdout: "", stderr: `${argv[0]}: ${(error as NodeJS.ErrnoException).code === "ENOENT" ? "not found" : String(error)}` };
  }
};

export interface ServiceHostOptions {
  platform: "darwin" | "linux";
  home: string;
  uid: number;
  env: Record<string, string | undefined>;
  run: CommandRunner;
}

export interface Installed {
  /** The plist or unit written. */
  file: string;
  logPath: string;
  /** What the manager calls it: the launchd label or the systemd unit. */
  id: string;
}

/**
 * Where a service's files go and how its manager is driven, for launchd agents
 * (~/Library/LaunchAgents, `launchctl bootstrap gui/UID`) and systemd user units
 * (~/.config/systemd/user, `systemctl --user`). Install writes the file, then loads it; when
 * loading fails the file is removed again, so nothing half-installed is left.
 */
export class ServiceHost {
  constructor(readonly o: ServiceHostOptions) {}

  static checkName(name: string): void {
    if (!SERVICE_NAME.test(name)) throw new UsageError(`service name must be 1 to 64 letters, digits, '.', '_' or '-', starting with a letter or digit (got ${JSON.stringify(name)})`);
  }

  /** The plist or unit for NAME. */
  file(name: string): string {
    if (this.o.platform === "darwin") return join(this.o.home, "Library", "LaunchAgents", `${launchdLabel(name)}.plist`);
    return join(this.o.env.XDG_CONFIG_HOME || join(this.o.home, ".config"), "systemd", "user", systemdUnitName(name));
  }

  logPath(name: string): string {
    if (this.o.platform === "darwin") return join(this.o.home, "Library", "Logs", "whipcast", `${name}.log`);
    return join(this.o.env.XDG_STATE_HOME || join(this.o.home, ".local", "state"), "whipcast", `${name}.log`);
  }

  id(name: string): string {
    return this.o.platform === "darwin" ? launchdLabel(name) : systemdUnitName(name);
  }

  render(def: ServiceDefinition): string {
    return this.o.platform === "darwin" ? launchdPlist(def, this.o.env.PATH || "/usr/bin:/bin") : systemdUnit(def);
  }

  async install(def: ServiceDefinition): Promise<Installed> {
    ServiceHost.checkName(def.name);
    const file = this.file(def.name);
    mkdirSync(dirname(file), { recursive: true });
    mkdirSync(dirname(def.logPath), { recursive: true, mode: 0o700 });
    // Readable by its owner only: the endpoint URL itself may be a secret (Cloudflare's is).
    const partial = `${file}.${process.pid}.partial`;
    writeFileSync(partial, this.render(def), { mode: 0o600 });
    chmodSync(partial, 0o600);
    if (existsSync(file)) await this.#unload(def.name);
    renameSync(partial, file);
    try {
      await this.#load(def.name, file);
    } catch (error) {
      rmSync(file, { force: true });
      if (this.o.platform === "linux") await this.o.run(["systemctl", "--user", "daemon-reload"]);
      throw error;
    }
    return { file, logPath: def.logPath, id: this.id(def.name) };
  }

  async uninstall(name: string): Promise<{ file: string; logPath: string }> {
    ServiceHost.checkName(name);
    const file = this.#existing(name);
    await this.#unload(name);
    rmSync(file, { force: true });
    if (this.o.platform === "linux") await this.o.run(["systemctl", "--user", "daemon-reload"]);
    return { file, logPath: this.logPath(name) };
  }

  async status(name: string): Promise<ServiceState & { file: string; logPath: string; lastLine?: string }> {
    ServiceHost.checkName(name);
    const file = this.#existing(name);
    const logPath = this.logPath(name);
    const r =
      this.o.platform === "darwin"
        ? await this.o.run(["launchctl", "print", `gui/${this.o.uid}/${launchdLabel(name)}`])
        : await this.o.run(["systemctl", "--user", "show", systemdUnitName(name), "--property=ActiveState,SubState,MainPID,NRestarts,ExecMainStatus,ExecMainExitTimestamp"]);
    const state: ServiceState = r.code !== 0 ? { running: false, state: this.o.platform === "darwin" ? "not loaded" : `unknown (${firstLine(r.stderr) || `systemctl exit ${r.code}`})` } : this.o.platform === "darwin" ? parseLaunchctlPrint(r.stdout) : parseSystemctlShow(r.stdout);
    const lastLine = lastLogLine(logPath);
    return { ...state, file, logPath, ...(lastLine !== undefined ? { lastLine } : {}) };
  }

  #existing(name: string): string {
    const file = this.file(name);
    if (!existsSync(file)) throw new UsageError(`no service ${name} is installed (no ${file})`);
    return file;
  }

  async #load(name: string, file: string): Promise<void> {
    if (this.o.platform === "darwin") {
      await this.#must(["launchctl", "bootstrap", `gui/${this.o.uid}`, file]);
      return;
    }
    await this.#must(["systemctl", "--user", "daemon-reload"]);
    await this.#must(["systemctl", "--user", "enable", "--now", systemdUnitName(name)]);
  }

  /** Stop and unload; a service that is not loaded is not an error here. */
  async #unload(name: string): Promise<void> {
    if (this.o.platform === "darwin") await this.o.run(["launchctl", "bootout", `gui/${this.o.uid}/${launchdLabel(name)}`]);
    else await this.o.run(["systemctl", "--user", "disable", "--now", systemdUnitName(name)]);
  }

  async #must(argv: string[]): Promise<void> {
    const r = await this.o.run(argv);
    if (r.code !== 0) throw new ServiceError(`${argv.join(" ")} failed (exit ${r.code}): ${firstLine(r.stderr) || firstLine(r.stdout) || "no message"}`);
  }
}

function firstLine(text: string): string {
  return (text.split("\n").find((l) => l.trim() !== "") ?? "").trim();
}

/** The log's last line, a JSON event shown as `level: msg`. */
export function lastLogLine(path: string): string | undefined {
  let text: string;
  try {
    text = readFileSync(path, "utf8");
  } catch {
    return undefined;
  }
  const line = text.trimEnd().split("\n").at(-1)?.trim();
  if (!line) return undefined;
  try {
    const event = JSON.parse(line) as { time?: string; level?: string; msg?: string };
    if (typeof event.msg === "string") return `${event.time ?? ""} ${event.level ?? "info"}: ${event.msg}`.trim();
  } catch {}
  return line;
}
