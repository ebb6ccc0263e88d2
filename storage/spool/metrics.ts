import { Counter, Gauge, Histogram, type Registry } from 'prom-client';
import { getOrCreateMetric } from '../../core/util/index.js';
import type { SpoolStats } from './contract.js';

/**
 * The spool's gauges are read from its stats at scrape time (the oldest-unsent age grows with the
 * clock, not with events). A spool reopened on the same registry takes the gauges over.
 */
export function createSpoolMetrics(reg: Registry, stats: () => SpoolStats, now: () => number) {
  const gauge = (name: string, help: string, value: (s: SpoolStats) => number) => {
    reg.removeSingleMetric(name);
    return new Gauge({ name, help, registers: [reg], collect() { this.set(value(stats())); } });
  };
  gauge('anju_spool_depth_readings', 'Readings in the spool not yet acknowledged by the store', (s) => s.depth);
  gauge('anju_spool_bytes', 'Bytes of spool segment files on disk', (s) => s.bytes);
  gauge('anju_spool_oldest_unsent_seconds', 'Age of the oldest reading not yet acknowledged by the store (0 when none)',
    (s) => (s.oldestUnsentAt === undefined ? 0 : Math.max(0, (now() - s.oldestUnsentAt) / 1000)));
  gauge('anju_spool_full', '1 while appends are refused for the disk quota', (s) => (s.full ? 1 : 0));
  return {
    appended: getOrCreateMetric(reg, 'anju_spool_appended_total', () => new Counter({
      name: 'anju_spool_appended_total', help: 'Readings appended durably to the spool', registers: [reg],
    })),
    refused: getOrCreateMetric(reg, 'anju_spool_refused_total', () => new Counter({
      name: 'anju_spool_refused_total', help: 'Readings refused by the spool (quota full); their publishers get no PUBACK', registers: [reg],
    })),
    corrupt: getOrCreateMetric(reg, 'anju_spool_corrupt_records_total', () => new Counter({
      name: 'anju_spool_corrupt_records_total', help: 'Corrupt or torn spool records skipped', registers: [reg],
    })),
    commitSeconds: getOrCreateMetric(reg, 'anju_spool_commit_seconds', () => new Histogram({
      name: 'anju_spool_commit_seconds', help: 'One group commit: write plus fdatasync',
      buckets: [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1], registers: [reg],
    })),
  };
}
export type SpoolMetrics = ReturnType<typeof createSpoolMetrics>;

/**
 * The forwarder's metrics. Names differ from the in-memory writer's (`anju_store_batch_seconds`,
 * `anju_store_written_total`, …) except `anju_store_write_errors_total`, shared so one alert counts
 * failed writes by status whichever path wrote; a registration with other labels fails at wiring.
 */
export function createForwarderMetrics(reg: Registry) {
  return {
    forwarded: getOrCreateMetric(reg, 'anju_spool_forwarded_total', () => new Counter({
      name: 'anju_spool_forwarded_total', help: 'Readings forwarded from the spool and acknowledged by the store', labelNames: ['store'], registers: [reg],
    }), ['store']),
    dropped: getOrCreateMetric(reg, 'anju_spool_dropped_total', () => new Counter({
      name: 'anju_spool_dropped_total', help: 'Readings the store refused for good (invalid batch), by reason', labelNames: ['store', 'reason'], registers: [reg],
    }), ['store', 'reason']),
    roundtrip: getOrCreateMetric(reg, 'anju_store_roundtrip_seconds', () => new Histogram({
      name: 'anju_store_roundtrip_seconds', help: 'Latency of one telemetry store write from the spool, by outcome (ok, error)',
      labelNames: ['store', 'outcome'], buckets: [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10], registers: [reg],
    }), ['store', 'outcome']),
    writeErrors: getOrCreateMetric(reg, 'anju_store_write_errors_total', () => new Counter({
      name: 'anju_store_write_errors_total', help: 'Failed telemetry store writes by status (unavailable, invalid, error, or the HTTP status)',
      labelNames: ['store', 'status'], registers: [reg],
    }), ['store', 'status']),
  };
}
