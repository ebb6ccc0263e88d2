import { readdir, stat, statfs } from 'node:fs/promises';
import { join } from 'node:path';
import type { Logger } from 'pino';
import { createInterruptible } from '../core/util/index.js';
import { StoreUnavailableError } from './contract.js';

/**
 * The data directory's file system: free space, what Anju keeps there and how fast it grows. Below
 * the minimum free space the store refuses telemetry writes with a DiskFullError, an unavailable
 * store to the spool forwarder: the readings stay in the spool (published QoS 1 messages were
 * acknowledged only once spooled; when the spool reaches its quota new ones are refused), nothing
 * is lost, and DuckDB never runs out of space in the middle of a checkpoint, which is where a
 * full disk can leave a database file that no longer opens.
 */

export interface DiskSpace {
  readonly freeBytes: number;
  readonly totalBytes: number;
}

/** What the file system holding `path` has free (for an unprivileged process) and in all. */
export type DiskProbe = (path: string) => Promise<DiskSpace>;

export const statfsProbe: DiskProbe = async (path) => {
  const s = await statfs(path);
  return { freeBytes: s.bavail * s.bsize, totalBytes: s.blocks * s.bsize };
};

/** The store refuses a write while the disk is below its minimum free space; retried by the forwarder. */
export class DiskFullError extends StoreUnavailableError {
  override name = 'DiskFullError';
  override readonly code: string = 'disk_full';
}

export interface DiskStats extends DiskSpace {
  /** Bytes of every file under the data directory (database, WAL, spool, backups kept there). */
  readonly storeBytes: number;
  /** Growth of the data directory per day, from the samples of the last day; undefined until they span 10 minutes. */
  readonly growthBytesPerDay?: number;
  readonly minFreeBytes: number;
  readonly full: boolean;
  /** Writes refused for want of space since start. */
  readonly refusedTotal: number;
  readonly checkedAt?: number;
}

export interface DiskMonitor {
  /** Probes now; resolves with the new figures. */
  check(): Promise<DiskStats>;
  /** Throws DiskFullError (counted) while the last probe found less free than the minimum. */
  guard(): void;
  stats(): DiskStats;
  start(): void;
  stop(): Promise<void>;
}

export interface DiskMonitorConfig {
  dataDir: string;
  minFreeBytes: number;
  /** Time between probes; default 10 s (a 2,000-device community writes ~2 MB a minute at most). */
  intervalMs?: number;
  /**
   * Time between walks of the data directory for its size; default 5 minutes. Free space (one
   * statfs) guards the writes and is read every probe; the size only feeds the store-size and
   * growth figures, and walking a directory that holds backups and spool segments every 10 s
   * would cost more than it tells.
   */
  sizeIntervalMs?: number;
}

/** Sum of file sizes under `dir` (what `du` would say, ignoring block rounding). */
export async function directoryBytes(dir: string): Promise<number> {
  let total = 0;
  let entries;
  try {
    entries = await readdir(dir, { withFileTypes: true });
  } catch {
    return 0;
  }
  for (const e of entries) {
    const p = join(dir, e.name);
    if (e.isDirectory()) total += await directoryBytes(p);
    else if (e.isFile()) total += await stat(p).then((s) => s.size, () => 0);
  }
  return total;
}

const DAY = 86_400_000;
/** Growth is projected over at least this span: shorter ones are dominated by WAL checkpoints. */
const minGrowthSpanMs = 10 * 60_000;

export function createDiskMonitor(config: DiskMonitorConfig, deps: { logger: Logger; probe?: DiskProbe; now?: () => number }): DiskMonitor {
  const probe = deps.probe ?? statfsProbe;
  const now = deps.now ?? Date.now;
  const intervalMs = config.intervalMs ?? 10_000;
  const sizeIntervalMs = config.sizeIntervalMs ?? 5 * 60_000;
  let sizedAt: number | undefined;
  const sleep = createInterruptible();
  const samples: { t: number; bytes: number }[] = [];
  let space: DiskSpace = { freeBytes: Number.POSITIVE_INFINITY, totalBytes: 0 };
  let storeBytes = 0;
  let full = false;
  let refused = 0;
  let checkedAt: number | undefined;
  let running: Promise<void> | undefined;
  let stopped = false;

  const stats = (): DiskStats => {
    const first = samples[0];
    const last = samples.at(-1);
    const span = first && last ? last.t - first.t : 0;
    return {
      ...space, storeBytes, minFreeBytes: config.minFreeBytes, full, refusedTotal: refused,
      ...(first && last && span >= minGrowthSpanMs ? { growthBytesPerDay: Math.round(((last.bytes - first.bytes) / span) * DAY) } : {}),
      ...(checkedAt !== undefined ? { checkedAt } : {}),
    };
  };

  async function check(): Promise<DiskStats> {
    space = await probe(config.dataDir);
    checkedAt = now();
    if (sizedAt === undefined || checkedAt - sizedAt >= sizeIntervalMs) {
      storeBytes = await directoryBytes(config.dataDir);
      sizedAt = checkedAt;
      samples.push({ t: checkedAt, bytes: storeBytes });
      while (samples.length > 2 && (samples[0] as { t: number }).t < checkedAt - DAY) samples.shift();
    }
    const wasFull = full;
    full = space.freeBytes < config.minFreeBytes;
    if (full && !wasFull) {
      deps.logger.error({ freeBytes: space.freeBytes, minFreeBytes: config.minFreeBytes },
        'disk almost full: telemetry writes refused, readings wait in the spool (ANJU_DISK_MIN_FREE_MB)');
    } else if (!full && wasFull) {
      deps.logger.warn({ freeBytes: space.freeBytes, refused }, 'disk space back: telemetry writes resume');
    }
    return stats();
  }

  return {
    check,
    stats,
    guard() {
      if (!full) return;
      refused += 1;
      throw new DiskFullError(`disk almost full: ${space.freeBytes} bytes free, fewer than the ${config.minFreeBytes} kept free (ANJU_DISK_MIN_FREE_MB)`, intervalMs);
    },
    start() {
      if (running) return;
      running = (async () => {
        while (!stopped) {
          await check().catch((err: unknown) => deps.logger.warn({ err }, 'disk probe failed; the last figures stand'));
          // An interrupt is not remembered: a stop() during a probe must not wait out another interval.
          if (!stopped) await sleep.sleep(intervalMs);
        }
      })();
    },
    async stop() {
      stopped = true;
      sleep.interrupt();
      await running;
    },
  };
}
