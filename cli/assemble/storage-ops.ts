import type { Logger } from 'pino';
import { Counter, Gauge, type Registry } from 'prom-client';
import type { AnjuConfig } from '../../core/config.js';
import { getOrCreateMetric } from '../../core/util/index.js';
import { createDiskMonitor, type DiskMonitor, type DiskProbe } from '../../storage/disk.js';
import type { EmbeddedDatabase } from '../../storage/index.js';

export interface StorageOps {
  readonly disk: DiskMonitor;
  stop(): Promise<void>;
}

/**
 * The embedded store's upkeep: raw-reading retention in the background, and the disk monitor whose
 * guard makes the store refuse telemetry writes (left in the spool) when the disk is almost full.
 * Their figures go to /metrics; the disk's also to /health (cli/health.ts).
 */
export async function startStorageOps(config: AnjuConfig, dataDir: string,
  deps: { db: EmbeddedDatabase; metrics: Registry; logger: Logger; diskProbe?: DiskProbe; diskIntervalMs?: number }): Promise<StorageOps> {
  const { db, metrics } = deps;
  const logger = deps.logger.child({ part: 'storage-ops' });
  const disk = createDiskMonitor({ dataDir, minFreeBytes: config.disk.minFreeBytes, ...(deps.diskIntervalMs ? { intervalMs: deps.diskIntervalMs } : {}) },
    { logger, ...(deps.diskProbe ? { probe: deps.diskProbe } : {}) });
  // The first figures before any write is admitted: a start on a full disk refuses from the first batch.
  await disk.check().catch((err: unknown) => logger.warn({ err }, 'disk probe failed at start'));
  db.setWriteGuard(() => disk.guard());
  disk.start();
  db.retention.start();

  const gauge = (name: string, help: string, value: () => number | Promise<number>) =>
    getOrCreateMetric(metrics, name, () => new Gauge({
      name, help, registers: [metrics], async collect() {
        this.set(await value());
      },
    }));
  gauge('anju_disk_free_bytes', 'Free bytes on the data directory\'s file system (for an unprivileged process).', () => {
    const f = disk.stats().freeBytes;
    return Number.isFinite(f) ? f : 0;
  });
  gauge('anju_store_bytes', 'Bytes of every file under the data directory.', () => disk.stats().storeBytes);
  gauge('anju_store_growth_bytes_per_day', 'Growth of the data directory per day, projected from the last day of samples (0 until 10 minutes of them).',
    () => disk.stats().growthBytesPerDay ?? 0);
  gauge('anju_hourly_rollup_rows', 'Rows in the hourly aggregate tables of the embedded store.', () => db.hourlyRows().catch(() => 0));
  const counter = (name: string, help: string, value: () => number) =>
    getOrCreateMetric(metrics, name, () => new Counter({
      name, help, registers: [metrics], collect() {
        this.reset();
        this.inc(value());
      },
    }));
  counter('anju_retention_deleted_rows_total', 'Raw readings retention deleted as past ANJU_RETENTION_RAW_DAYS.', () => db.retention.deletedTotal());
  counter('anju_retention_folded_readings_total', 'Readings older than the raw period folded into their hourly aggregates.', () => db.foldedTotal());
  counter('anju_embedded_reopens_total', 'Times the embedded database reopened itself after a failed COMMIT or a fatal DuckDB error (rebuilt from what was committed).',
    () => db.reopenedTotal());
  counter('anju_disk_full_refusals_total', 'Telemetry writes refused because the disk was below ANJU_DISK_MIN_FREE_MB.', () => disk.stats().refusedTotal);

  return {
    disk,
    async stop() {
      db.setWriteGuard(undefined);
      await Promise.all([disk.stop(), db.retention.stop()]);
    },
  };
}
