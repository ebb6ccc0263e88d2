import { join } from 'node:path';
import type { Logger } from 'pino';
import type { Registry } from 'prom-client';
import type { AnjuConfig } from '../core/config.js';
import type { Reading } from '../core/index.js';
import {
  comparePositions, createInfluxStore, createSpool, createSpoolForwarder, type SpoolForwarder, type SpoolLog, type TelemetryStore,
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
  config: { dataDir: string; quotaBytes: number; fsync: boolean; groupCommitMs?: number; writeIntervalMs?: number; writeBatch?: number },
  deps: {
    store: TelemetryStore; logger: Logger; metrics: Registry;
    /**
     * The readings of the backlog a previous run left in the spool, as the forwarder takes them (before
     * their store write, which may wait for a store that is down). Ingest hands the latest-value cache
     * each reading it accepts; these it accepted before the restart, so the cache learns them here —
     * a store query at start-up cannot see those written after it ran.
     */
    onBacklog?: (readings: readonly Reading[]) => void;
  },
): Promise<TelemetryPath> {
  // Segments are freed whole, so the quota must hold several: a quarter of it, at most 16 MiB.
  const segmentBytes = Math.max(256 * 1024, Math.min(16 * MiB, Math.floor(config.quotaBytes / 4)));
  const spool = await createSpool(
    { dir: join(config.dataDir, 'spool'), segmentBytes, quotaBytes: config.quotaBytes, groupCommitMs: config.groupCommitMs ?? 2, fsync: config.fsync },
    { logger: deps.logger.child({ part: 'spool' }), metrics: deps.metrics },
  );
  const forwarder = createSpoolForwarder({
    maxBatch: 2_000, retryMaxMs: 10_000, minWriteIntervalMs: config.writeIntervalMs ?? 0, maxWriteShare: 0.5, startBatch: config.writeBatch,
  }, {
    spool, store: deps.onBacklog ? backlogTap(spool, deps.store, deps.onBacklog) : deps.store, logger: deps.logger.child({ part: 'forwarder' }), metrics: deps.metrics,
  });
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

/**
 * The store as the forwarder sees it, handing `onBacklog` each batch until the forwarder has read
 * past what the spool held when it opened (the last such batch may carry a few live readings too:
 * offering those again is harmless). Then it is the store itself, with nothing added per reading.
 */
function backlogTap(spool: SpoolLog, store: TelemetryStore, onBacklog: (readings: readonly Reading[]) => void): TelemetryStore {
  const backlogEnd = spool.endPosition();
  let inBacklog = comparePositions(spool.readPosition(), backlogEnd) < 0;
  const write: TelemetryStore['write'] = (batch, encoded) => {
    if (inBacklog) {
      onBacklog(batch);
      inBacklog = comparePositions(spool.readPosition(), backlogEnd) < 0;
    }
    return store.write(batch, encoded);
  };
  return new Proxy(store, { get: (target, key, receiver) => (key === 'write' ? write : Reflect.get(target, key, receiver) as unknown) });
}
