/**
 * A bench child process's own nice value (bench/alerts `--nice-publishers`): set from inside the
 * child, on every thread it has, so none of them escapes it.
 */
import { readdirSync } from 'node:fs';
import { getPriority, setPriority } from 'node:os';

/**
 * Every thread of this process at `nice` (Linux: a nice value is per thread; threads started later
 * inherit it), never below what it already is (lowering needs a privilege). Elsewhere, the process.
 * A bench that cannot renice runs on and says so: the figures are then the plain method's.
 */
export function niceAll(nice: number, who: string): void {
  let tids: number[] = [0];
  try {
    tids = readdirSync('/proc/self/task').map(Number);
  } catch {
    // Not Linux: setpriority on pid 0 is the whole process.
  }
  for (const tid of tids) {
    try {
      setPriority(tid, Math.max(nice, getPriority(tid)));
    } catch (err) {
      // A thread that ended meanwhile (ESRCH) needs nothing.
      if ((err as NodeJS.ErrnoException).code !== 'ESRCH') console.error(`${who}: thread ${tid} stays at its nice value: ${(err as Error).message}`);
    }
  }
}
