import { existsSync } from "node:fs";
import { join } from "node:path";

export const ROOT = join(import.meta.dir, "..", "..");
export const BINARY = join(ROOT, "dist", "whipcast");

/** The compiled executable under test; `bun run test` builds it first. */
export function binary(): string {
  if (!existsSync(BINARY)) throw new Error(`${BINARY} is missing: run \`bun build.ts\` (bun run test does)`);
  return BINARY;
}
