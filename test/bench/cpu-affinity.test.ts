import { spawn, spawnSync } from 'node:child_process';
import { existsSync, readdirSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { allowedCpus, cpusOf, parseCpuSets, pinProcess } from '../../bench/common/cpu-affinity.js';

const linux = existsSync('/proc/self/status') && spawnSync('taskset', ['--version']).status === 0;
/** The CPUs this process may use: a pin needs two to show that it moved anything. */
const mine = linux ? cpusOf(allowedCpus() ?? '0') : [];

/** Each thread's allowed CPUs, as the kernel lists them. */
const threadCpus = (pid: number) => readdirSync(`/proc/${pid}/task`).map((tid) => allowedCpus(`${pid}/task/${tid}`));

describe('bench CPU sets (bench/common/cpu-affinity.ts)', () => {
  it('reads taskset CPU lists and refuses anything else', () => {
    expect(cpusOf('0')).toEqual([0]);
    expect(cpusOf('0-1')).toEqual([0, 1]);
    expect(cpusOf('4-6,1,5')).toEqual([1, 4, 5, 6]);
    for (const bad of ['', 'a', '1-', '-1', '1,,2', '0x1', '3-1', '0-4000000000']) expect(() => cpusOf(bad), bad).toThrow();
  });

  it('takes SERVER:LOAD on CPUs the machine has, and refuses sets that overlap or do not exist, saying what to type', () => {
    expect(parseCpuSets('0-1:2-3', 4)).toEqual({ server: '0-1', load: '2-3' });
    expect(parseCpuSets('0:1', 2)).toEqual({ server: '0', load: '1' });
    expect(() => parseCpuSets('0-1', 4)).toThrow(/SERVER:LOAD/);
    expect(() => parseCpuSets('0-1:2:3', 4)).toThrow(/SERVER:LOAD/);
    expect(() => parseCpuSets('0-1:1-2', 4)).toThrow(/CPU 1 to both/);
    expect(() => parseCpuSets('0-1:2-3', 2)).toThrow(/CPU 2, 3, but this machine has CPUs 0-1/);
  });

  it.runIf(mine.length >= 2)('pins every thread of a running process to the set and back, however the list is written', async () => {
    // A node child that printed has several threads already (V8's platform workers): every one of them is moved.
    const child = spawn(process.execPath, ['-e', 'console.log("up"); setTimeout(() => {}, 30_000)'], { stdio: ['ignore', 'pipe', 'ignore'] });
    try {
      await new Promise((resolve) => child.stdout.once('data', resolve));
      const pid = child.pid!;
      const last = String(mine.at(-1));
      expect(threadCpus(pid).length).toBeGreaterThan(1);
      expect(threadCpus(pid).every((c) => c === last)).toBe(false);
      pinProcess(pid, last);
      expect(new Set(threadCpus(pid))).toEqual(new Set([last]));
      // Two CPUs written as a comma list; the kernel lists them as a range when they are adjacent.
      const two = `${mine[0]},${mine[1]}`;
      pinProcess(pid, two);
      for (const cpus of threadCpus(pid)) expect(cpusOf(cpus!)).toEqual([mine[0], mine[1]]);
    } finally {
      child.kill('SIGKILL');
    }
  });

  it.runIf(linux)('a pin that cannot be made fails with the reason', () => {
    // No such process: taskset may even exit 0; the check with the kernel does not pass it.
    expect(() => pinProcess(2 ** 22 + 12_345, String(mine[0] ?? 0))).toThrow(/could not pin process \d+ to CPUs \d+ \(no such process\)/);
  });
});
