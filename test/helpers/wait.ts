/**
 * Waits for a condition, not for time: polls `fn` until it gives a value (anything but undefined or
 * false), and fails with `what` if none came within `timeoutMs`. A busy machine makes the
 * condition slower, not false, so the timeout is generous and only bounds a real failure. No
 * vitest import, so scripts outside the runner (test/fixtures/upgrade/make-fixture.ts) use it too;
 * inside a test, `vi.waitFor` with an `expect` is the same thing with a better failure message.
 */
export async function waitFor<T>(
  what: string,
  fn: () => Promise<T | undefined | false> | T | undefined | false,
  timeoutMs = 15_000,
  intervalMs = 50,
): Promise<T> {
  const started = Date.now();
  for (;;) {
    const value = await fn();
    if (value !== undefined && value !== false) return value;
    if (Date.now() - started > timeoutMs) throw new Error(`timed out after ${timeoutMs / 1000} s waiting for ${what}`);
    await new Promise((r) => setTimeout(r, intervalMs));
  }
}
