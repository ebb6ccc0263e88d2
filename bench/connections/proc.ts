import { spawn, type ChildProcess } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { connect } from 'node:net';
import { sleep } from '../../core/util/index.js';

/** Linux /proc readings of another process, and process helpers for bench/connections. */

// The shared sleep does not hold the process open: the children this bench spawns (and their pipes) do.
export { sleep };

/** Resident set size (VmRSS) of `pid`, MiB. */
export async function rssMiB(pid: number): Promise<number> {
  const status = await readFile(`/proc/${pid}/status`, 'utf8');
  const kb = Number(/VmRSS:\s+(\d+)\s+kB/.exec(status)?.[1] ?? NaN);
  return kb / 1024;
}

/** CPU time (user + system, all threads) `pid` has used, ms. Fields 14 and 15 of /proc/pid/stat, in clock ticks (100 Hz on Linux). */
export async function cpuMs(pid: number): Promise<number> {
  const stat = await readFile(`/proc/${pid}/stat`, 'utf8');
  // The command name (field 2) may contain spaces: split after its closing parenthesis.
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(fields[11]) + Number(fields[12])) * 10;
}

/**
 * Runs `command` under bash with the open-file limit raised: every connection is a file descriptor,
 * and 10,000 of them exceed common defaults. `exec` keeps the pid, so /proc/<pid> is the program's.
 */
export function spawnWithUlimit(command: string, options: { cwd: string; env: Record<string, string>; ipc?: boolean }): ChildProcess {
  return spawn('bash', ['-c', `ulimit -n 65536 2>/dev/null || ulimit -n "$(ulimit -Hn)"; ${command}`], {
    cwd: options.cwd, env: options.env, stdio: options.ipc ? ['ignore', 'inherit', 'inherit', 'ipc'] : ['ignore', 'pipe', 'pipe'],
  });
}

export async function waitForPort(port: number, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const ok = await new Promise<boolean>((resolve) => {
      const s = connect(port, '127.0.0.1', () => { s.destroy(); resolve(true); });
      s.once('error', () => resolve(false));
    });
    if (ok) return;
    if (Date.now() > deadline) throw new Error(`nothing listens on port ${port} after ${timeoutMs} ms`);
    await sleep(50);
  }
}
