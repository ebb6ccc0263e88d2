/**
 * Waits for long jobs by their progress instead of a fixed deadline: a busy machine makes a job
 * slower, not stuck. `read()` returns a progress figure (or undefined when it cannot tell yet);
 * it resolves once `done(figure)`, and fails only when the figure has not moved for `stallMs`.
 */
export async function waitForProgress(
  what: string,
  read: () => Promise<number | undefined> | number | undefined,
  done: (figure: number) => boolean,
  opts: { stallMs: number; pollMs?: number },
): Promise<number> {
  let last: number | undefined;
  let movedAt = Date.now();
  for (;;) {
    const figure = await read();
    if (figure !== undefined && done(figure)) return figure;
    if (figure !== last) {
      last = figure;
      movedAt = Date.now();
    } else if (Date.now() - movedAt > opts.stallMs) {
      throw new Error(`${what}: no progress for ${opts.stallMs / 1000} s (stuck at ${last ?? 'nothing yet'})`);
    }
    await new Promise((r) => setTimeout(r, opts.pollMs ?? 500));
  }
}
