import { existsSync } from 'node:fs';
import { isMainThread } from 'node:worker_threads';
import { describe, expect, it } from 'vitest';
import { cpuSnapshot, cpuSplitSince } from '../../bench/common/cpu-split.js';

// The test must run on the process's main thread (vitest's forks pool) for its spin to be that thread's.
const hasSchedstat = isMainThread && existsSync(`/proc/self/task/${process.pid}/schedstat`);

describe('bench CPU by thread (bench/common/cpu-split.ts)', () => {
  it.runIf(hasSchedstat)('a busy main thread: its CPU and its wait for a core make up the wall time; the machine counts it too', () => {
    const from = cpuSnapshot();
    expect(from).toBeDefined();
    const until = performance.now() + 300;
    let spins = 0;
    while (performance.now() < until) spins += 1;
    const split = cpuSplitSince(from)!;
    expect(spins).toBeGreaterThan(0);
    expect(split.seconds).toBeGreaterThanOrEqual(0.3);
    // Spinning, the thread is either on a core or ready and waiting for one; on a VM the host may also
    // take the core away (steal, in neither account), hence the margin below 1.
    const accounted = split.mainCores + split.mainWaitMsPerS / 1000;
    expect(accounted).toBeGreaterThan(0.7);
    expect(accounted).toBeLessThan(1.2);
    expect(split.mainCores).toBeGreaterThan(0.2);
    expect(split.cpus).toBeGreaterThanOrEqual(1);
    // /proc/stat counts in 10 ms ticks per CPU: allow a few ticks' error.
    expect(split.machineCores).toBeGreaterThan(split.mainCores - 0.2);
    expect(split.machineCores).toBeLessThanOrEqual(split.cpus + 0.2);
    expect(split.stealCores).toBeGreaterThanOrEqual(0);
  });

  it('nothing to compare with: no split', () => {
    expect(cpuSplitSince(undefined)).toBeUndefined();
  });
});
