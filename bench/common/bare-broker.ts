import { createServer, type AddressInfo } from 'node:net';
import { monitorEventLoopDelay, performance } from 'node:perf_hooks';
import { Aedes } from 'aedes';
import { cpuSnapshot, cpuSplitSince, type CpuSplit } from './cpu-split.js';

/**
 * The baseline every broker figure is reported beside: a default Aedes on TCP in this process — no
 * authentication, no ACL, no subscriber, nothing stored. What the harness (the publishers' process,
 * the machine, MQTT over loopback) costs on its own, measured in the same run as Anju.
 */
export interface BareBroker {
  readonly url: string;
  /** Starts measuring this process: CPU, event-loop busy share and delay, from now. */
  measure(): void;
  /** Stops the broker; returns what was measured since `measure()` (or since start). */
  stop(): Promise<BareMeasure>;
}

export interface BareMeasure {
  /** CPU of this process, µs (user + system). */
  cpuUs: number;
  /** Event-loop busy share and busy time (ms). */
  loopBusy: number;
  loopActiveMs: number;
  /** Event-loop delay p99 and max, ms. */
  loopDelay99: number;
  loopDelayMax: number;
  wallMs: number;
  /** By thread, and the machine meanwhile (Linux only). */
  cpuSplit: CpuSplit | undefined;
}

export async function startBareBroker(): Promise<BareBroker> {
  const aedes = await Aedes.createBroker();
  const server = createServer(aedes.handle);
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  let cpu0 = process.cpuUsage();
  let elu0 = performance.eventLoopUtilization();
  let t0 = performance.now();
  let split0 = cpuSnapshot();
  const delay = monitorEventLoopDelay({ resolution: 10 });
  delay.enable();
  return {
    url: `mqtt://127.0.0.1:${(server.address() as AddressInfo).port}`,
    measure() {
      cpu0 = process.cpuUsage();
      elu0 = performance.eventLoopUtilization();
      t0 = performance.now();
      split0 = cpuSnapshot();
      delay.reset();
    },
    async stop() {
      const cpu = process.cpuUsage(cpu0);
      const elu = performance.eventLoopUtilization(elu0);
      const wallMs = performance.now() - t0;
      const cpuSplit = cpuSplitSince(split0);
      delay.disable();
      await new Promise<void>((r) => aedes.close(() => r()));
      await new Promise<void>((r) => server.close(() => r()));
      return { cpuUs: cpu.user + cpu.system, loopBusy: elu.utilization, loopActiveMs: elu.active, loopDelay99: delay.percentile(99) / 1e6,
        loopDelayMax: delay.max / 1e6, wallMs, cpuSplit };
    },
  };
}
