/** What /proc says about the benchmark's processes (Linux): CPU time, children, memory. */
import { readFileSync, readdirSync } from "node:fs";

const CLK_TCK = 100;

/** User + system CPU seconds of `pid` so far (10 ms ticks). */
export function cpuSeconds(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
  const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  return (Number(fields[11]) + Number(fields[12])) / CLK_TCK;
}

/**
 * Proportional set size of `pid`, kB: its private pages plus its share of pages mapped by
 * several processes (shared libraries, the executable), so a tree's PSS adds up to what it
 * really holds, where summed RSS counts shared pages once per process.
 */
export function pssKb(pid: number): number {
  return Number(/^Pss:\s+(\d+)/m.exec(readFileSync(`/proc/${pid}/smaps_rollup`, "utf8"))?.[1] ?? 0);
}

/** What a process is, from its command line: whipcast, or which ffmpeg run. */
export function processRole(pid: number): string {
  const argv = readFileSync(`/proc/${pid}/cmdline`, "utf8").split("\0");
  const exe = argv[0]!.split("/").at(-1)!;
  if (exe !== "ffmpeg") return exe;
  if (argv.includes("pipe:0")) return "ffmpeg encoder";
  return "ffmpeg capture";
}

export function childPids(pid: number): number[] {
  const out: number[] = [];
  for (const task of readdirSync(`/proc/${pid}/task`)) {
    const text = readFileSync(`/proc/${pid}/task/${task}/children`, "utf8").trim();
    if (text) out.push(...text.split(/\s+/).map(Number));
  }
  return out;
}

/** `pid` and every descendant now running. */
export function processTree(pid: number): number[] {
  const all = [pid];
  for (let i = 0; i < all.length; i++) {
    try {
      all.push(...childPids(all[i]!));
    } catch {
      // it ended between listing and reading
    }
  }
  return all;
}
