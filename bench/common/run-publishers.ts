import { fork, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';

export interface PublishersJob {
  url: string;
  devices: Array<{ id: string; secret: string }>;
  seconds: number;
  /** In-flight messages per publisher. */
  window: number;
  /** msg/s per publisher; 0 = as fast as PUBACKs allow. */
  ratePerPublisher: number;
  /**
   * Count mode: each device sends exactly this many readings (their ts 1 ms apart, so all distinct)
   * and `seconds` only bounds how long the parent waits; absent or 0 = time mode (`seconds`).
   */
  messages?: number;
  /** One message in this many (per device) is a fire reading (bench/alerts); 0 or absent = none. */
  triggerEvery?: number;
  /**
   * Messages sent in this many ms after the first publish are the warm-up: their PUBACK latency is
   * left out of `ack50` / `ack99` and reported as `warmAck99` (default 0: none).
   */
  warmupMs?: number;
  /** Connected, wait for the parent's `go` (`release` below) before publishing: several publisher processes start together. */
  waitForGo?: boolean;
  /**
   * The publishers' nice value, every thread of their process (0–19; default 0). Devices are not on
   * the server's cores; niced, the publishers still take what they need of a core but yield it
   * whenever the server's threads are ready to run, instead of preempting them.
   */
  nice?: number;
  /** Linux CPU list the publishers' process runs on (bench/common/cpu-affinity.ts); absent = wherever the bench runs. */
  cpus?: string;
}

export interface PublishersResult {
  acked: number;
  /** Fire readings acknowledged (0 without `triggerEvery`). */
  triggersAcked: number;
  errors: number;
  /** When the child reported every client connected (the start of the measured interval). */
  connectedAt: number;
  /** CPU time the publishers' process used, ms, start-up and CONNECTs included. */
  cpuMs: number;
  /** CPU time of the publishing alone (first publish → the clients closed), ms. */
  publishCpuMs: number;
  /** In the publishers' clock (the same host clock): first publish and last PUBACK, epoch ms. */
  firstAt: number;
  lastAckAt: number;
  /** Publish → PUBACK, ms, per message in the publishers' process: p50 and p99 (NaN when none was acknowledged). */
  ack50: number;
  ack99: number;
  /** Publish → PUBACK p99 of the warm-up's messages (NaN without a warm-up). */
  warmAck99: number;
}

const running = new Set<ChildProcess>();

/** Kills publisher processes still running (on an interrupt or a failed run). */
export function killPublishers(): void {
  for (const c of running) c.kill('SIGKILL');
  running.clear();
}

/**
 * Runs the publishers (./publishers.ts) in a child process, as real devices would be: their CPU stays
 * off the broker's event loop. Bounded: a child that has not finished `graceMs` after its deadline
 * is killed and the promise rejects. `onConnected` is called once every client is connected (the
 * measured interval starts).
 */
export function runPublishers(job: PublishersJob, graceMs = 60_000, onConnected?: () => void, release?: Promise<void>): Promise<PublishersResult> {
  return new Promise((resolve, reject) => {
    const child = fork(fileURLToPath(new URL('./publishers.ts', import.meta.url)), [], { execArgv: ['--import', 'tsx'] });
    running.add(child);
    let connectedAt = Date.now();
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`publishers did not finish within ${job.seconds} s + ${graceMs / 1000} s`));
    }, job.seconds * 1000 + graceMs);
    child.on('exit', (code, signal) => {
      running.delete(child);
      clearTimeout(timer);
      // Its last IPC message may still be on its way: give it a moment (a settled promise ignores this).
      setTimeout(() => reject(new Error(`publishers exited (${code ?? signal}) before reporting`)), 1_000).unref();
    });
    child.on('message', (m: { type: string; acked: number; triggersAcked?: number; errors: number; cpuMs?: number; publishCpuMs?: number; firstAt?: number; lastAckAt?: number; ack50?: number; ack99?: number; warmAck99?: number; message?: string }) => {
      if (m.type === 'connected') {
        connectedAt = Date.now();
        onConnected?.();
        if (job.waitForGo) void (release ?? Promise.resolve()).then(() => child.connected && child.send({ type: 'go' }));
      }
      if (m.type === 'done') resolve({ acked: m.acked, triggersAcked: m.triggersAcked ?? 0, errors: m.errors, connectedAt, cpuMs: m.cpuMs ?? NaN, publishCpuMs: m.publishCpuMs ?? NaN,
        firstAt: m.firstAt ?? NaN, lastAckAt: m.lastAckAt ?? NaN,
        ack50: m.ack50 ?? NaN, ack99: m.ack99 ?? NaN, warmAck99: m.warmAck99 ?? NaN });
      if (m.type === 'error') reject(new Error(m.message));
    });
    child.on('error', reject);
    child.send(job);
  });
}
