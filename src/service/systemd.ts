import pkg from "../../package.json" with { type: "json" };
import type { ServiceDefinition } from "./definition.ts";
import { NO_RESTART_STATUSES, RESTART_THROTTLE_SECONDS } from "./definition.ts";
import type { ServiceState } from "./launchd.ts";

/**
 * A systemd user unit (systemd.service(5)) for one publish: `Restart=on-failure`, so a clean
 * stop stays stopped; statuses a restart would only repeat are excluded; restarts are spaced and
 * capped; SIGTERM gives the run its clean stop (WHIP DELETE) before systemd's own timeout.
 */
export function systemdUnitName(name: string): string {
  return `whipcast-${name}.service`;
}

/** One word of ExecStart= (systemd.syntax(7)): `%` is a specifier and `$` a variable, so both are doubled. */
export function systemdQuote(arg: string): string {
  const escaped = arg.replace(/%/g, "%%").replace(/\$/g, "$$$$");
  if (/^[A-Za-z0-9_@+=:,./-]+$/.test(arg) && arg !== "") return escaped;
  return `"${escaped.replace(/\\/g, "\\\\").replace(/"/g, '\\"').replace(/\n/g, "\\n")}"`;
}

/** A path in a `StandardOutput=append:` setting: specifiers doubled, no quoting available. */
function unitPath(path: string): string {
  return path.replace(/%/g, "%%");
}

export function systemdUnit(def: ServiceDefinition): string {
  return `[Unit]
Description=whipcast publish (${def.name})
Documentation=${pkg.homepage}#services
After=network-online.target
Wants=network-online.target
StartLimitIntervalSec=600
StartLimitBurst=20

[Service]
Type=simple
ExecStart=${def.argv.map(systemdQuote).join(" ")}
WorkingDirectory=${unitPath(def.workingDirectory)}
Restart=on-failure
RestartSec=${RESTART_THROTTLE_SECONDS}
RestartPreventExitStatus=${NO_RESTART_STATUSES.join(" ")}
KillSignal=SIGTERM
TimeoutStopSec=10
StandardOutput=append:${unitPath(def.logPath)}
StandardError=append:${unitPath(def.logPath)}

[Install]
WantedBy=default.target
`;
}

/** `systemctl --user show UNIT --property=...` output (KEY=VALUE lines). */
export function parseSystemctlShow(text: string): ServiceState {
  const values = new Map<string, string>();
  for (const line of text.split("\n")) {
    const eq = line.indexOf("=");
    if (eq > 0) values.set(line.slice(0, eq), line.slice(eq + 1).trim());
  }
  const active = values.get("ActiveState") ?? "unknown";
  const sub = values.get("SubState");
  const num = (k: string) => {
    const v = values.get(k);
    return v !== undefined && /^\d+$/.test(v) ? Number(v) : undefined;
  };
  const pid = num("MainPID");
  const restarts = num("NRestarts");
  const exit = num("ExecMainStatus");
  return {
    running: active === "active" && (sub === undefined || sub === "running"),
    state: sub ? `${active} (${sub})` : active,
    ...(pid ? { pid } : {}),
    ...(restarts !== undefined ? { restarts } : {}),
    ...(exit !== undefined && values.get("ExecMainExitTimestamp") ? { lastExitStatus: exit } : {}),
  };
}
