import { readFileSync } from 'node:fs';

/**
 * Where this process's CPU went, by thread, and what the machine did meanwhile — the figures a CPU
 * profile cannot give. A V8 profile books the time its thread sat runnable but off its core to
 * whatever function was running (BENCHMARKS.md, "2026-12-06, later"); the kernel's accounts tell the
 * two apart. Linux only (/proc): elsewhere `cpuSnapshot()` is undefined and the bench leaves its table out.
 *
 * - The main thread (the event loop): CPU it ran, and the time it was ready to run but waited for a
 *   core (/proc/self/task/<pid>/schedstat: on-CPU ns, run-queue wait ns; kernel Documentation/scheduler/sched-stats).
 * - The other threads (libuv's pool: the spool's file writes and the DuckDB statements; DuckDB's and
 *   V8's own threads): the process's CPU less the main thread's, so threads that ended count too.
 * - The machine: busy CPUs over the window and steal (/proc/stat), so a run that shared the machine
 *   with someone else's work says so, instead of a load average taken at one moment.
 */
export interface CpuSnapshot {
  at: number;
  mainCpuNs: number;
  mainWaitNs: number;
  processCpuUs: number;
  machineBusy: number;
  machineTotal: number;
  machineSteal: number;
  cpus: number;
}

export interface CpuSplit {
  seconds: number;
  /** Cores' worth of CPU: the main thread, the others, the whole machine (every process), steal. */
  mainCores: number;
  otherCores: number;
  machineCores: number;
  stealCores: number;
  /** Of every second, how long the main thread was ready to run but waited for a core (ms/s). */
  mainWaitMsPerS: number;
  cpus: number;
}

function readSchedstat(path: string): [number, number] {
  const [cpu, wait] = readFileSync(path, 'utf8').trim().split(/\s+/).map(Number);
  return [cpu ?? NaN, wait ?? NaN];
}

/** /proc/stat: busy (all but idle and iowait) and total jiffies of every CPU together, steal, and how many CPUs. */
function readMachine(): [number, number, number, number] {
  const lines = readFileSync('/proc/stat', 'utf8').split('\n');
  const cpus = lines.filter((l) => /^cpu\d+ /.test(l)).length;
  const [, ...f] = lines[0]!.trim().split(/\s+/);
  const n = f.map(Number);
  // user nice system idle iowait irq softirq steal guest guest_nice; guest time is already in user.
  const total = (n[0] ?? 0) + (n[1] ?? 0) + (n[2] ?? 0) + (n[3] ?? 0) + (n[4] ?? 0) + (n[5] ?? 0) + (n[6] ?? 0) + (n[7] ?? 0);
  const idle = (n[3] ?? 0) + (n[4] ?? 0);
  return [total - idle, total, n[7] ?? 0, cpus];
}

/** Now; undefined where /proc does not give it (not Linux, or schedstat not built into the kernel). */
export function cpuSnapshot(): CpuSnapshot | undefined {
  try {
    // The clock read beside the thread's own account, so a preemption during the other reads does not skew the pair.
    const [mainCpuNs, mainWaitNs] = readSchedstat(`/proc/self/task/${process.pid}/schedstat`);
    const at = performance.now();
    const [machineBusy, machineTotal, machineSteal, cpus] = readMachine();
    const u = process.cpuUsage();
    if (!Number.isFinite(mainCpuNs) || !Number.isFinite(mainWaitNs)) return undefined;
    return { at, mainCpuNs, mainWaitNs, processCpuUs: u.user + u.system, machineBusy, machineTotal, machineSteal, cpus };
  } catch {
    return undefined;
  }
}

/** From `from` to now; undefined when either end is. */
export function cpuSplitSince(from: CpuSnapshot | undefined): CpuSplit | undefined {
  const to = cpuSnapshot();
  if (!from || !to) return undefined;
  const seconds = (to.at - from.at) / 1000;
  if (!(seconds > 0)) return undefined;
  const { cpus } = to;
  const mainCores = (to.mainCpuNs - from.mainCpuNs) / 1e9 / seconds;
  const processCores = (to.processCpuUs - from.processCpuUs) / 1e6 / seconds;
  const total = to.machineTotal - from.machineTotal;
  const share = (x: number) => (total > 0 ? (x / total) * cpus : NaN);
  return {
    seconds, mainCores, otherCores: Math.max(0, processCores - mainCores),
    machineCores: share(to.machineBusy - from.machineBusy), stealCores: share(to.machineSteal - from.machineSteal),
    mainWaitMsPerS: (to.mainWaitNs - from.mainWaitNs) / 1e6 / seconds, cpus,
  };
}
