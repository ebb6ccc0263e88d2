import { spawn, spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { allowedCpus, cpusOf, parseCpuSets, pinProcess } from '../../bench/common/cpu-affinity.js';

const linux = existsSync('/proc/self/status') && spawnSync('taskset', ['--version']).status === 0;

describe('bench CPU sets (bench/common/cpu-affinity.ts)', () => {
  it('reads taskset CPU lists and refuses anything else', () => {
    expect(cpusOf('0')).toEqual([0]);
    expect(cpusOf('0-1')).toEqual([0, 1]);
    expect(cpusOf('4-6,1,5')).toEqual([1, 4, 5, 6]);
    for (const bad of ['', 'a', '1-', '-1', '1,,2', '0x1', '3-1']) expect(() => cpusOf(bad), bad).toThrow();
  });

  it('takes SERVER:LOAD on CPUs the machine has, and refuses sets that overlap or do not exist, saying what to type', () => {
    expect(parseCpuSets('0-1:2-3', 4)).toEqual({ server: '0-1', load: '2-3' });
    expect(parseCpuSets('0:1', 2)).toEqual({ server: '0', load: '1' });
    expect(() => parseCpuSets('0-1', 4)).toThrow(/SERVER:LOAD/);
    expect(() => parseCpuSets('0-1:2:3', 4)).toThrow(/SERVER:LOAD/);
    expect(() => parseCpuSets('0-1:1-2', 4)).toThrow(/CPU 1 to both/);
    expect(() => parseCpuSets('0-1:2-3', 2)).toThrow(/CPU 2, 3, but this machine has CPUs 0-1/);
  });

  it.runIf(linux)('pins every thread of a running process to the set, and the kernel says so', async () => {
    // A node child has several threads already (V8's platform workers): every one of them is moved.
    const child = spawn(process.execPath, ['-e', 'console.log("up"); setTimeout(() => {}, 30_000)'], { stdio: ['ignore', 'pipe', 'ignore'] });
    try {
      await new Promise((resolve) => child.stdout.once('data', resolve));
      const before = allowedCpus(child.pid!);
      expect(before).toBeDefined();
      pinProcess(child.pid!, '0');
      expect(allowedCpus(child.pid!)).toBe('0');
      const threads = spawnSync('sh', ['-c', `for t in /proc/${child.pid}/task/*; do grep Cpus_allowed_list $t/status; done`], { encoding: 'utf8' }).stdout;
      expect(threads.trim().split('\n').length).toBeGreaterThan(1);
      for (const line of threads.trim().split('\n')) expect(line).toMatch(/:\s*0$/);
    } finally {
      child.kill('SIGKILL');
    }
  });

  it.runIf(linux)('a pin that cannot be made fails with the reason', () => {
    // No such process: taskset refuses, and the error names the process and the set.
    expect(() => pinProcess(2 ** 22 + 12_345, '0')).toThrow(/could not pin process \d+ to CPUs 0/);
  });
});
