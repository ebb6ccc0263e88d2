/**
 * The server on some cores, the load generator on others (Linux CPU affinity, through util-linux's
 * `taskset`). On this project's 2-core machines the publishers share the server's cores, where
 * devices and a control room would not; on a machine with 4 or more, `--cpus 0-1:2-3` gives the
 * server two cores of its own and runs the publishers (and the SSE client) on the rest, so the
 * latency targets are measured as they are meant: the server's CPU, not the harness's.
 *
 * A process's affinity is per thread; threads started later inherit their creator's, so a process
 * pinned with `-a` (every thread it has) before it starts its pools stays on its set. The children
 * pin themselves once started: their start-up (node, tsx's compile, and tsx's esbuild helper, idle
 * after it) runs on the server's CPUs, before anything is measured.
 */
import { spawnSync } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { cpus } from 'node:os';

export interface CpuSets {
  /** taskset's CPU list for the server: the bench's own process (broker, ingest, stores, alerts, the bare broker). */
  readonly server: string;
  /** The same for the load: the publishers' processes and the SSE client. */
  readonly load: string;
}

/** Linux's own bound on CPU numbers in a default kernel build (NR_CPUS at most 8,192). */
const MAX_CPU = 8_191;

/** The CPUs of a taskset list ("0-1", "2,3", "4-7,9"); throws on anything else. */
export function cpusOf(list: string): number[] {
  if (!/^\d+(-\d+)?(,\d+(-\d+)?)*$/.test(list)) throw new Error(`"${list}" is not a CPU list (e.g. 0-1 or 2,3)`);
  const set = new Set<number>();
  for (const part of list.split(',')) {
    const [lo, hi = lo] = part.split('-').map(Number) as [number, number?];
    if (hi! < lo) throw new Error(`"${part}" in "${list}" runs backwards`);
    if (hi! > MAX_CPU) throw new Error(`"${part}" in "${list}" names CPU ${hi}: no machine has it`);
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

/**
 * Every thread of process `pid` on the CPUs of `list`, checked with the kernel thread by thread.
 * taskset's status alone does not say: it stops at the first thread it cannot move (one that ended
 * while it walked /proc/PID/task), and a process that is gone can pass it. So the pin is tried again
 * once when a thread is left off the set. Throws when taskset is missing or a thread stays off it
 * (a cgroup cpuset that excludes those CPUs, say).
 */
export function pinProcess(pid: number, list: string): void {
  let stderr = '';
  for (let attempt = 0; attempt < 2; attempt += 1) {
    const r = spawnSync('taskset', ['--all-tasks', '--cpu-list', '--pid', list, String(pid)], { encoding: 'utf8' });
    if (r.error) throw new Error(`could not run taskset (util-linux) to pin process ${pid}: ${r.error.message}`);
    stderr = r.stderr.trim();
    const off = threadsOffCpus(pid, list);
    if (off === undefined) break;
    if (off.length === 0) return;
  }
  const off = threadsOffCpus(pid, list);
  const where = off === undefined ? 'no such process' : `threads ${off.map((t) => `${t.tid} on ${t.cpus}`).join(', ')}`;
  throw new Error(`could not pin process ${pid} to CPUs ${list} (${where})${stderr ? `: ${stderr}` : ''}`);
}

/** The threads of `pid` whose allowed CPUs are not `list` (a thread that ended meanwhile is none); undefined when the process is gone. */
function threadsOffCpus(pid: number, list: string): { tid: string; cpus: string }[] | undefined {
  let tids: string[];
  try {
    tids = readdirSync(`/proc/${pid}/task`);
  } catch {
    return undefined;
  }
  const off: { tid: string; cpus: string }[] = [];
  for (const tid of tids) {
    const cpus = allowedCpus(`${pid}/task/${tid}`);
    if (cpus !== undefined && !sameCpus(cpus, list)) off.push({ tid, cpus });
  }
  return off;
}

/** The CPUs a process's main thread (or `PID/task/TID`, one thread) may run on, as the kernel lists them (`Cpus_allowed_list`); undefined when unknown. */
export function allowedCpus(pid: number | string = 'self'): string | undefined {
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
