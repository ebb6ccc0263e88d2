/**
 * The server on some cores, the load generator on others (Linux CPU affinity, through util-linux's
 * `taskset`). On this project's 2-core machines the publishers share the server's cores, where
 * devices and a control room would not; on a machine with 4 or more, `--cpus 0-1:2-3` gives the
 * server two cores of its own and runs the publishers (and the SSE client) on the rest, so the
 * latency targets are measured as they are meant: the server's CPU, not the harness's.
 *
 * A process's affinity is per thread; threads started later inherit their creator's, so a process
 * pinned with `-a` (every thread it has) before it starts its pools stays on its set.
 */
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { cpus } from 'node:os';

export interface CpuSets {
  /** taskset's CPU list for the server: the bench's own process (broker, ingest, stores, alerts, the bare broker). */
  readonly server: string;
  /** The same for the load: the publishers' processes and the SSE client. */
  readonly load: string;
}

/** The CPUs of a taskset list ("0-1", "2,3", "4-7,9"); throws on anything else. */
export function cpusOf(list: string): number[] {
  if (!/^\d+(-\d+)?(,\d+(-\d+)?)*$/.test(list)) throw new Error(`"${list}" is not a CPU list (e.g. 0-1 or 2,3)`);
  const set = new Set<number>();
  for (const part of list.split(',')) {
    const [lo, hi = lo] = part.split('-').map(Number) as [number, number?];
    if (hi! < lo) throw new Error(`"${part}" in "${list}" runs backwards`);
    for (let c = lo; c <= hi!; c += 1) set.add(c);
  }
  return [...set].sort((a, b) => a - b);
}

/**
 * `SERVER:LOAD`, two CPU lists that do not overlap, every CPU one this machine has (`cpuCount`,
 * default its online CPUs, whatever this process is pinned to now). Throws with what to type instead.
 */
export function parseCpuSets(spec: string, cpuCount = cpus().length): CpuSets {
  const parts = spec.split(':');
  if (parts.length !== 2) throw new Error(`--cpus takes SERVER:LOAD, two CPU lists (e.g. 0-1:2-3), not "${spec}"`);
  const [server, load] = parts as [string, string];
  const s = cpusOf(server);
  const l = cpusOf(load);
  const missing = [...s, ...l].filter((c) => c >= cpuCount);
  if (missing.length > 0) throw new Error(`--cpus names CPU ${missing.join(', ')}, but this machine has CPUs 0-${cpuCount - 1}`);
  const shared = s.filter((c) => l.includes(c));
  if (shared.length > 0) throw new Error(`--cpus gives CPU ${shared.join(', ')} to both the server and the load: the point is that they do not share`);
  return { server, load };
}

/** Every thread of process `pid` on the CPUs of `list`, checked with the kernel. Throws when taskset is missing or the pin did not take. */
export function pinProcess(pid: number, list: string): void {
  const r = spawnSync('taskset', ['--all-tasks', '--cpu-list', '--pid', list, String(pid)], { encoding: 'utf8' });
  if (r.error) throw new Error(`could not run taskset (util-linux) to pin process ${pid}: ${r.error.message}`);
  // taskset's status alone does not say: a thread that ends while it walks /proc/PID/task fails it,
  // and a process that is gone can pass it. What the kernel now allows the process's main thread does.
  const now = allowedCpus(pid);
  if (!sameCpus(now, list)) {
    throw new Error(`could not pin process ${pid} to CPUs ${list} (it may run on ${now ?? 'unknown: no such process'}): ${r.stderr.trim() || `taskset exited ${r.status}`}`);
  }
}

/** The CPUs a process's main thread may run on, as the kernel lists them (`Cpus_allowed_list`); undefined when unknown. */
export function allowedCpus(pid: number | 'self' = 'self'): string | undefined {
  try {
    return /^Cpus_allowed_list:\s*(\S+)$/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1];
  } catch {
    return undefined;
  }
}

function sameCpus(a: string | undefined, b: string): boolean {
  if (a === undefined) return false;
  try {
    return cpusOf(a).join() === cpusOf(b).join();
  } catch {
    return false;
  }
}

/**
 * A bench's `--cpus` option: parsed, and the bench's own process pinned to the server's set before it
 * starts any pool (its threads to come inherit it). On a bad value: the reason and exit 2.
 */
export function pinBench(bench: string, spec: string | undefined): CpuSets | undefined {
  if (spec === undefined) return undefined;
  try {
    const sets = parseCpuSets(spec);
    pinProcess(process.pid, sets.server);
    return sets;
  } catch (err) {
    console.error(`${bench}: ${(err as Error).message}`);
    process.exit(2);
  }
}
