/**
 * Cleanup steps registered as resources come up, run once, in reverse order, each awaited even
 * when an earlier one failed (citty's command.ts does the same for setup/cleanup).
 */
export class CleanupStack {
  #steps: { name: string; run: () => Promise<void> | void }[] = [];
  #running: Promise<string[]> | undefined;

  push(name: string, run: () => Promise<void> | void): void {
    this.#steps.push({ name, run });
  }

  /** Run every step, newest first. Resolves with one line per step that failed. Idempotent. */
  run(): Promise<string[]> {
    this.#running ??= (async () => {
      const failures: string[] = [];
      for (const step of this.#steps.reverse()) {
        try {
          await step.run();
        } catch (error) {
          failures.push(`${step.name}: ${error instanceof Error ? error.message : String(error)}`);
        }
      }
      this.#steps = [];
      return failures;
    })();
    return this.#running;
  }
}
