import { afterEach, beforeEach, describe, expect, test } from "bun:test";
import { chmodSync, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { acquireRunLock, lockPath } from "../../src/cli/run-lock.ts";
import { StreamBusyError } from "../../src/errors.ts";

const URL_A = "https://example.com/whip/show-a";
let dir: string;
beforeEach(() => {
  dir = join(mkdtempSync(join(tmpdir(), "whipcast-lock-")), "locks");
});
afterEach(() => rmSync(join(dir, ".."), { recursive: true, force: true }));

/** A pid that exists (a sleeping child) or one that has just exited. */
function livePid(): { pid: number; stop(): void } {
  const child = Bun.spawn(["sleep", "30"]);
  return { pid: child.pid, stop: () => child.kill("SIGKILL") };
}
async function deadPid(): Promise<number> {
  const child = Bun.spawn(["true"]);
  await child.exited;
  return child.pid;
}

describe("the run lock: one publisher per endpoint on this machine", () => {
  test("taken, refused to a second run naming the holder, released, taken again", () => {
    const holder = livePid();
    try {
      const lock = acquireRunLock(URL_A, "https://example.com/whip/show-a", dir, holder.pid);
      expect(readFileSync(lock.path, "utf8")).toBe(`${holder.pid}\n`);
      expect(() => acquireRunLock(URL_A, "https://example.com/whip/show-a", dir, 999_999)).toThrow(new StreamBusyError(`another whipcast (pid ${holder.pid}) is already publishing to https://example.com/whip/show-a; stop it first, or pass --no-lock`));
      lock.release();
      lock.release();
      expect(existsSync(lock.path)).toBe(false);
      acquireRunLock(URL_A, "x", dir).release();
    } finally {
      holder.stop();
    }
  });

  test("another endpoint is another lock; the file names neither URL", () => {
    const a = acquireRunLock(URL_A, "a", dir);
    const b = acquireRunLock("https://example.com/whip/show-b", "b", dir);
    expect(a.path).not.toBe(b.path);
    expect(a.path).not.toContain("show-a");
    a.release();
    b.release();
  });

  test("a lock left by a run that died (kill -9, power loss) is taken over", async () => {
    const path = lockPath(URL_A, dir);
    acquireRunLock(URL_A, "a", dir, await deadPid());
    expect(existsSync(path)).toBe(true);
    const lock = acquireRunLock(URL_A, "a", dir);
    expect(readFileSync(path, "utf8")).toBe(`${process.pid}\n`);
    lock.release();
  });

  test("a lock file holding garbage is stale too", () => {
    acquireRunLock(URL_A, "a", dir).release();
    writeFileSync(lockPath(URL_A, dir), "not a pid");
    acquireRunLock(URL_A, "a", dir).release();
  });

  test("a lock directory others may write to is refused", () => {
    acquireRunLock(URL_A, "a", dir).release();
    chmodSync(dir, 0o777);
    expect(() => acquireRunLock(URL_A, "a", dir)).toThrow(`the lock directory ${dir} is writable by others; remove it or set XDG_RUNTIME_DIR`);
  });
});
