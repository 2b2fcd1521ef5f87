import pkg from "../package.json" with { type: "json" };

/**
 * Which whipcast this is: the version in package.json and the git commit it was built from.
 * build.ts stamps the commit into the executable (`--define`); running from a checkout, git is
 * asked. A commit with uncommitted changes on top ends in `-dirty`.
 */
declare const WHIPCAST_COMMIT: string | undefined;
/** The commit's time, seconds since 1970 (also the archives' file times). */
declare const WHIPCAST_COMMIT_TIME: number | undefined;

export const VERSION: string = pkg.version;

export function buildCommit(): string {
  if (typeof WHIPCAST_COMMIT === "string") return WHIPCAST_COMMIT;
  return gitCommit(import.meta.dir) ?? "unknown";
}

/** The checkout's commit (12 hex digits), `-dirty` when tracked files differ from it. */
export function gitCommit(cwd: string): string | undefined {
  try {
    const head = Bun.spawnSync(["git", "rev-parse", "--short=12", "HEAD"], { cwd, stdout: "pipe", stderr: "ignore" });
    if (head.exitCode !== 0) return undefined;
    const dirty = Bun.spawnSync(["git", "diff", "--quiet", "HEAD", "--"], { cwd, stdout: "ignore", stderr: "ignore" }).exitCode === 1;
    return `${head.stdout.toString().trim()}${dirty ? "-dirty" : ""}`;
  } catch {
    return undefined;
  }
}

/** When the commit was made, ms since 1970; undefined outside a build or a checkout. */
export function buildTime(): number | undefined {
  if (typeof WHIPCAST_COMMIT_TIME === "number") return WHIPCAST_COMMIT_TIME * 1000;
  const t = gitCommitTime(import.meta.dir);
  return t === undefined ? undefined : t * 1000;
}

/** The checkout's commit time, seconds since 1970. */
export function gitCommitTime(cwd: string): number | undefined {
  try {
    const r = Bun.spawnSync(["git", "log", "-1", "--format=%ct"], { cwd, stdout: "pipe", stderr: "ignore" });
    const t = Number(r.stdout.toString().trim());
    return r.exitCode === 0 && Number.isInteger(t) && t > 0 ? t : undefined;
  } catch {
    return undefined;
  }
}
