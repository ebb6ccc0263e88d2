import { join } from 'node:path';
import type { Logger } from 'pino';
import type { Registry } from 'prom-client';
import type { AnjuConfig } from '../core/config.js';
import {
  createInfluxStore, createSpool, createSpoolForwarder, type SpoolForwarder, type SpoolLog, type TelemetryStore,
} from '../storage/index.js';

export interface TelemetryPath {
  /** The durable reading consumer ingest hands every accepted reading to. */
  readonly spool: SpoolLog;
  readonly forwarder: SpoolForwarder;
  /** The store the API reads from (the same the forwarder writes to). */
  readonly store: TelemetryStore;
  close(): Promise<void>;
}

const MiB = 1024 * 1024;

/** The telemetry store `ANJU_STORE` names; the embedded one is opened with the state store. */
export function selectTelemetryStore(
  config: AnjuConfig, embedded: TelemetryStore,
  deps: { logger: Logger; metrics: Registry; siteTimezone?: (site: string) => string | undefined },
): TelemetryStore {
  if (config.store === 'embedded') return embedded;
  // Site zones (for the daily register rollups' local days) come from the registry.
  return createInfluxStore(config.influx, { logger: deps.logger.child({ part: 'influxdb' }), metrics: deps.metrics, siteTimezone: deps.siteTimezone });
}

/**
 * ingest ▶ spool (durable, group-committed) ▶ forwarder ▶ store. The spool is what makes a PUBACK
 * mean "on disk": its append resolves after the fsync. Closing stops the forwarder after its batch
 * in hand (the rest replays on the next start), then the spool.
 */
export async function openTelemetryPath(
  config: { dataDir: string; quotaBytes: number; fsync: boolean; groupCommitMs?: number; writeIntervalMs?: number },
  deps: { store: TelemetryStore; logger: Logger; metrics: Registry },
): Promise<TelemetryPath> {
  // Segments are freed whole, so the quota must hold several: a quarter of it, at most 16 MiB.
  const segmentBytes = Math.max(256 * 1024, Math.min(16 * MiB, Math.floor(config.quotaBytes / 4)));
  const spool = await createSpool(
    { dir: join(config.dataDir, 'spool'), segmentBytes, quotaBytes: config.quotaBytes, groupCommitMs: config.groupCommitMs ?? 2, fsync: config.fsync },
    { logger: deps.logger.child({ part: 'spool' }), metrics: deps.metrics },
  );
  const forwarder = createSpoolForwarder({ maxBatch: 2_000, retryMaxMs: 10_000, minWriteIntervalMs: config.writeIntervalMs ?? 0, maxWriteShare: 0.5 }, { spool, store: deps.store, logger: deps.logger.child({ part: 'forwarder' }), metrics: deps.metrics });
  forwarder.start();
  return {
    spool,
    forwarder,
    store: deps.store,
    async close() {
      await forwarder.close();
      await spool.close();
    },
  };
}
