import type { Logger } from 'pino';
import { Counter, Gauge, Histogram, type Registry } from 'prom-client';
import type { Reading } from '../core/index.js';
import { InvalidBatchError, StoreUnavailableError, type TelemetryStore } from './contract.js';

export interface StoreWriterConfig {
  /** Readings per store write. */
  maxBatch: number;
  /** A partial batch is written at the latest this long after its first reading arrived. */
  flushIntervalMs: number;
  /** Readings held in memory (queued + in flight) before new ones are dropped and counted. */
  maxBuffered: number;
  /** First retry delay after a failed write; doubles per attempt up to retryMaxMs. */
  retryBaseMs?: number;
  retryMaxMs?: number;
}

/**
 * Production defaults, shared by the CLI and the benchmark: a 100 ms flush bounds the time a reading
 * waits for its commit at low rates; 2,000-reading batches keep DuckDB's per-commit cost small at
 * high ones (bench/ingest measures both).
 */
export const defaultStoreWriterConfig: StoreWriterConfig = { maxBatch: 2_000, flushIntervalMs: 100, maxBuffered: 500_000 };

export interface StoreWriterStats {
  buffered: number;
  written: number;
  failures: number;
}

export interface StoreWriter {
  readonly name: string;
  accept(readings: readonly Reading[]): void;
  /** Resolves once every reading accepted before the call is written. */
  flush(): Promise<void>;
  /** Flushes, then stops; readings accepted afterwards are dropped and counted. */
  close(): Promise<void>;
  stats(): StoreWriterStats;
}

export interface StoreWriterDeps {
  store: TelemetryStore;
  logger: Logger;
  metrics: Registry;
  /** For tests; defaults to Math.random. */
  random?: () => number;
}

/** Reuses a metric another writer registered on the same registry (prom-client refuses duplicates). */
function metric<T>(registry: Registry, name: string, make: () => T): T {
  return (registry.getSingleMetric(name) as T | undefined) ?? make();
}

/**
 * The store's reading consumer: buffers readings and writes them in order, one batch at a time.
 * A failed batch is kept and retried with exponential backoff and full jitter (so a fleet of hubs
 * does not hammer a recovering InfluxDB in lockstep) until it succeeds; later readings wait behind it.
 * A batch the store refuses as invalid (InvalidBatchError: no retry can fix it) is dropped, counted
 * and logged, so one bad reading cannot stall the pipeline forever.
 * Until the durable spool exists, a full buffer drops new readings — never silently.
 */
export function createStoreWriter(config: StoreWriterConfig, deps: StoreWriterDeps): StoreWriter {
  const { store, logger } = deps;
  const log = logger.child({ part: 'storage', consumer: 'store-writer', store: store.name });
  const random = deps.random ?? Math.random;
  const retryBaseMs = config.retryBaseMs ?? 200;
  const retryMaxMs = config.retryMaxMs ?? 30_000;
  if (!(config.maxBatch >= 1) || !(config.maxBuffered >= config.maxBatch)) {
    throw new RangeError('store writer: need maxBatch >= 1 and maxBuffered >= maxBatch');
  }

  const reg = deps.metrics;
  const batchSeconds = metric(reg, 'anju_store_batch_seconds', () => new Histogram({
    name: 'anju_store_batch_seconds', help: 'Latency of one successful telemetry store write', labelNames: ['store'],
    buckets: [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10], registers: [reg],
  }));
  const writtenTotal = metric(reg, 'anju_store_written_total', () => new Counter({
    name: 'anju_store_written_total', help: 'Readings written to the telemetry store', labelNames: ['store'], registers: [reg],
  }));
  const errorsTotal = metric(reg, 'anju_store_write_errors_total', () => new Counter({
    name: 'anju_store_write_errors_total', help: 'Failed telemetry store writes (each is retried)', labelNames: ['store'], registers: [reg],
  }));
  const droppedTotal = metric(reg, 'anju_store_dropped_total', () => new Counter({
    name: 'anju_store_dropped_total', help: 'Readings dropped before reaching the store, by reason', labelNames: ['store', 'reason'], registers: [reg],
  }));
  const bufferedGauge = metric(reg, 'anju_store_buffered', () => new Gauge({
    name: 'anju_store_buffered', help: 'Readings waiting for the telemetry store', labelNames: ['store'], registers: [reg],
  }));
  const labels = { store: store.name };

  let queue: Reading[] = [];
  let inFlight = 0;
  /** Readings accepted / settled (written or dropped as invalid) since start: flush waits on these. */
  let acceptedSeq = 0;
  let settledSeq = 0;
  let written = 0;
  let failures = 0;
  let closed = false;
  let pumping = false;
  let timer: NodeJS.Timeout | undefined;
  let waiters: { upTo: number; resolve: () => void }[] = [];
  let overflowing = false;

  const buffered = () => queue.length + inFlight;
  const updateGauge = () => bufferedGauge.set(labels, buffered());
  const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

  const drop = (count: number, reason: 'overflow' | 'invalid' | 'closed', err?: unknown) => {
    droppedTotal.inc({ ...labels, reason }, count);
    log.error({ dropped: count, reason, err }, 'readings dropped before reaching the store');
  };

  const settle = (count: number) => {
    settledSeq += count;
    const ready = waiters.filter((w) => w.upTo <= settledSeq);
    waiters = waiters.filter((w) => w.upTo > settledSeq);
    for (const w of ready) w.resolve();
  };

  async function writeWithRetry(batch: Reading[]): Promise<void> {
    for (let attempt = 0; ; attempt += 1) {
      const end = batchSeconds.startTimer(labels);
      try {
        await store.write(batch);
        end();
        written += batch.length;
        writtenTotal.inc(labels, batch.length);
        return;
      } catch (err) {
        failures += 1;
        errorsTotal.inc(labels);
        if (err instanceof InvalidBatchError) {
          drop(batch.length, 'invalid', err);
          return;
        }
        const ceiling = Math.min(retryMaxMs, retryBaseMs * 2 ** attempt);
        const hinted = err instanceof StoreUnavailableError ? (err.retryAfterMs ?? 0) : 0;
        const delay = Math.max(hinted, Math.round(random() * ceiling));
        log.warn({ err, attempt: attempt + 1, retryInMs: delay, readings: batch.length }, 'store write failed, retrying the batch');
        await sleep(delay);
      }
    }
  }

  /** Writes batches until the queue is empty; only one pump runs, so batches keep their order. */
  async function pump(): Promise<void> {
    if (pumping) return;
    pumping = true;
    try {
      while (queue.length > 0) {
        const batch = queue.slice(0, config.maxBatch);
        queue = queue.slice(batch.length);
        inFlight = batch.length;
        await writeWithRetry(batch);
        inFlight = 0;
        updateGauge();
        settle(batch.length);
      }
    } finally {
      pumping = false;
    }
  }

  const kick = () => {
    if (timer) { clearTimeout(timer); timer = undefined; }
    void pump();
  };

  function flush(): Promise<void> {
    if (settledSeq >= acceptedSeq) return Promise.resolve();
    const done = new Promise<void>((resolve) => waiters.push({ upTo: acceptedSeq, resolve }));
    kick();
    return done;
  }

  return {
    name: 'store-writer',
    accept(readings) {
      if (readings.length === 0) return;
      if (closed) { drop(readings.length, 'closed'); return; }
      const room = Math.max(0, config.maxBuffered - buffered());
      const taken = readings.length <= room ? readings : readings.slice(0, room);
      if (taken.length < readings.length) {
        // Log once per overflow episode; the counter carries the volume.
        droppedTotal.inc({ ...labels, reason: 'overflow' }, readings.length - taken.length);
        if (!overflowing) log.error({ maxBuffered: config.maxBuffered, dropped: readings.length - taken.length }, 'store writer buffer full: dropping readings until the store catches up');
        overflowing = true;
      } else if (overflowing && buffered() + taken.length < config.maxBuffered / 2) {
        overflowing = false;
        log.warn('store writer buffer has room again');
      }
      if (taken.length === 0) return;
      for (const r of taken) queue.push(r);
      acceptedSeq += taken.length;
      updateGauge();
      if (queue.length >= config.maxBatch) kick();
      else if (!timer && !pumping) timer = setTimeout(kick, config.flushIntervalMs);
    },
    flush,
    async close() {
      // While the store stays down this waits (the batch is retried); shutdown code bounds it.
      await flush();
      closed = true;
      if (timer) clearTimeout(timer);
      timer = undefined;
    },
    stats: () => ({ buffered: buffered(), written, failures }),
  };
}
