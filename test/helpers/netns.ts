import { existsSync } from "node:fs";

/**
 * Run a command in a fresh network namespace that has only loopback, so ICE can pair nothing
 * but 127.0.0.1 and every run is the same (shared/notes/browser-receiver.md). Needs root and
 * util-linux `unshare`; elsewhere the command runs on the host network, still on 127.0.0.1.
 */
export function canUseNetns(): boolean {
  return process.getuid?.() === 0 && existsSync("/usr/bin/unshare") && (existsSync("/usr/sbin/ip") || existsSync("/usr/bin/ip") || existsSync("/sbin/ip"));
}

export function inLoopbackNamespace(cmd: string[]): string[] {
  if (!canUseNetns()) return cmd;
  return ["unshare", "--net", "--", "sh", "-c", 'ip link set lo up && WHIPCAST_TEST_NETNS=1 exec "$@"', "sh", ...cmd];
}
