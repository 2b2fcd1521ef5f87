import type { ServiceDefinition } from "./definition.ts";
import { RESTART_THROTTLE_SECONDS } from "./definition.ts";

/**
 * A launchd user agent (launchd.plist(5)) for one publish: started at login, restarted only
 * after a failure (`KeepAlive` → `SuccessfulExit` false: a clean stop, such as the end of a
 * `--duration`, stays stopped), at most every ThrottleInterval seconds.
 */
export function launchdLabel(name: string): string {
  return `whipcast.${name}`;
}

function xml(text: string): string {
  return text.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;").replace(/"/g, "&quot;");
}

export function launchdPlist(def: ServiceDefinition, path: string): string {
  const args = def.argv.map((a) => `      <string>${xml(a)}</string>`).join("\n");
  return `<?xml version="1.0" encoding="UTF-8"?>
<!DOCTYPE plist PUBLIC "-//Apple//DTD PLIST 1.0//EN" "http://www.apple.com/DTDs/PropertyList-1.0.dtd">
<plist version="1.0">
  <dict>
    <key>Label</key>
    <string>${xml(launchdLabel(def.name))}</string>
    <key>ProgramArguments</key>
    <array>
${args}
    </array>
    <key>RunAtLoad</key>
    <true/>
    <key>KeepAlive</key>
    <dict>
      <key>SuccessfulExit</key>
      <false/>
    </dict>
    <key>ThrottleInterval</key>
    <integer>${RESTART_THROTTLE_SECONDS}</integer>
    <key>ProcessType</key>
    <string>Interactive</string>
    <key>WorkingDirectory</key>
    <string>${xml(def.workingDirectory)}</string>
    <key>EnvironmentVariables</key>
    <dict>
      <key>PATH</key>
      <string>${xml(path)}</string>
    </dict>
    <key>StandardOutPath</key>
    <string>${xml(def.logPath)}</string>
    <key>StandardErrorPath</key>
    <string>${xml(def.logPath)}</string>
  </dict>
</plist>
`;
}

export interface ServiceState {
  running: boolean;
  pid?: number;
  lastExitStatus?: number;
  restarts?: number;
  state: string;
}

/** The few facts `launchctl print gui/UID/LABEL` gives that a user needs. */
export function parseLaunchctlPrint(text: string): ServiceState {
  const field = (name: string) => new RegExp(`^\\s*${name} = (.+)$`, "m").exec(text)?.[1]?.trim();
  const state = field("state") ?? "unknown";
  const num = (v: string | undefined) => (v !== undefined && /^-?\d+$/.test(v) ? Number(v) : undefined);
  const pid = num(field("pid"));
  const lastExit = num(field("last exit code"));
  const runs = num(field("runs"));
  return { running: state === "running", state, ...(pid !== undefined ? { pid } : {}), ...(lastExit !== undefined ? { lastExitStatus: lastExit } : {}), ...(runs !== undefined ? { restarts: Math.max(0, runs - 1) } : {}) };
}
