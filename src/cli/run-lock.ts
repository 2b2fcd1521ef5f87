import { createHash } from "node:crypto";
import { closeSync, mkdirSync, openSync, readFileSync, renameSync, rmSync, statSync, writeSync } from "node:fs";
import { tmpdir, userInfo } from "node:os";
import { join } from "node:path";
import { StreamBusyError } from "../errors.ts";

/**
 * One publisher per endpoint on this machine. Two overlapping runs of the same cron line (a show
 * that overran its slot) would otherwise take the stream from each other every few seconds, as
 * each reconnects. The lock is a file named by a hash of the endpoint (the URL itself may be a
 * secret, so it is never written), holding the owner's pid. It lives in the user's runtime
 * directory, which the system empties at boot; a lock whose pid is gone is stale and taken over.
 */
export interface RunLock {
  readonly path: string;
  release(): void;
}

export function lockDirectory(env: Record<string, string | undefined> = process.env): string {
  return env.XDG_RUNTIME_DIR ? join(env.XDG_RUNTIME_DIR, "whipcast") : join(tmpdir(), `whipcast-${userInfo().uid}`);
}

export function lockPath(endpoint: string, dir: string): string {
  const key = createHash("sha256").update(endpoint).digest("hex").slice(0, 24);
  return join(dir, `publish-${key}.lock`);
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    // EPERM: the pid exists and belongs to someone else.
    return (error as NodeJS.ErrnoException).code === "EPERM";
  }
}

function readPid(path: string): number | undefined {
  try {
    const pid = Number.parseInt(readFileSync(path, "utf8").trim(), 10);
    return Number.isInteger(pid) && pid > 0 ? pid : undefined;
  } catch {
    return undefined;
  }
}

/**
 * Take the endpoint's lock, or throw StreamBusyError naming the pid that holds it. `describe` is
 * the endpoint as it may be shown (redacted).
 */
export function acquireRunLock(endpoint: string, describe: string, dir = lockDirectory(), pid = process.pid): RunLock {
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  if ((statSync(dir).mode & 0o022) !== 0) throw new StreamBusyError(`the lock directory ${dir} is writable by others; remove it or set XDG_RUNTIME_DIR`);
  const path = lockPath(endpoint, dir);
  for (let attempt = 0; attempt < 3; attempt++) {
    try {
      // O_EXCL: of two runs starting together, exactly one creates the file.
      const fd = openSync(path, "wx", 0o600);
      writeSync(fd, `${pid}\n`);
      closeSync(fd);
      let released = false;
      return {
        path,
        release() {
          if (released) return;
          released = true;
          if (readPid(path) === pid) rmSync(path, { force: true });
        },
      };
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== "EEXIST") throw error;
    }
    const owner = readPid(path);
    if (owner !== undefined && owner !== pid && alive(owner)) {
      throw new StreamBusyError(`another whipcast (pid ${owner}) is already publishing to ${describe}; stop it first, or pass --no-lock`);
    }
    // Stale: its owner is gone. Move it aside (atomic), so that of two runs taking it over only
    // one removes it, then try again to create ours.
    const aside = `${path}.stale.${pid}`;
    try {
      renameSync(path, aside);
      const moved = readPid(aside);
      if (moved !== undefined && moved !== owner && alive(moved)) {
        // Another run took it over between our read and our rename: give it back.
        renameSync(aside, path);
        throw new StreamBusyError(`another whipcast (pid ${moved}) is already publishing to ${describe}; stop it first, or pass --no-lock`);
      }
      rmSync(aside, { force: true });
    } catch (error) {
      if (error instanceof StreamBusyError) throw error;
    }
  }
  throw new StreamBusyError(`could not take the lock ${path} for ${describe}`);
}
