/**
 * Poll `probe` until it gives a value (or stops throwing): resolves with it, or rejects naming
 * `what` after `timeoutMs`. For scenarios that wait on a process, a page or a server.
 */
export async function until<T>(what: string, probe: () => Promise<T | undefined>, timeoutMs = 15_000, stepMs = 50): Promise<T> {
  const end = performance.now() + timeoutMs;
  for (;;) {
    const v = await probe().catch(() => undefined);
    if (v !== undefined) return v;
    if (performance.now() > end) throw new Error(`timed out waiting for ${what}`);
    await Bun.sleep(stepMs);
  }
}
