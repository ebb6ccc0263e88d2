import type { Profile } from './kinds/index.js';

/** Catching up is an hour at a time (a multiple of the caller's grid when it has one). */
export const CATCH_UP_STEP_MS = 3_600_000;

/**
 * Brings profiles from the start of their history up to (not including) `to` without using their
 * readings, all together an hour at a time, as a backfill steps them: linked profiles (the booster
 * pump reads the households' water draws) may only look a few hours back (kinds/events.ts keeps
 * 6 h), so no profile may run far ahead of the others. The registers then stand where a backfill
 * over the same period leaves them. Yields to the event loop now and then, and stops early once
 * `cancelled()` says so: a long history must not stall the process.
 */
export async function catchUpProfiles(
  profiles: Iterable<Profile>, from: number, to: number,
  opts: { stepMs?: number; cancelled?: () => boolean; onProgress?: (caughtUpTo: number) => void } = {},
): Promise<void> {
  const step = opts.stepMs ?? CATCH_UP_STEP_MS;
  const all = [...profiles];
  for (let t = from + step, n = 1; t < to; t += step, n++) {
    if (opts.cancelled?.()) return;
    for (const p of all) p.next(t);
    if (n % 24 === 0) {
      opts.onProgress?.(t);
      await new Promise((r) => setImmediate(r));
    }
  }
}
