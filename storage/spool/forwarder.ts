import type { Logger } from 'pino';
import type { Registry } from 'prom-client';
import type { Reading } from '../../core/index.js';
import { backoffDelay, createInterruptible } from '../../core/util/index.js';
import { InvalidBatchError, StoreUnavailableError, type EncodedReadings, type TelemetryStore } from '../contract.js';
import { comparePositions, type SpoolLog, type SpoolPosition } from './contract.js';
import { createForwarderMetrics } from './metrics.js';

export interface SpoolForwarderConfig {
  /** Readings per store write. */
  maxBatch: number;
  /** First retry delay after a failed write; the ceiling doubles per attempt up to retryMaxMs. */
  retryBaseMs?: number;
  retryMaxMs?: number;
  /** How long close() lets the in-flight batch keep retrying before it gives up on it. */
  closeTimeoutMs?: number;
  /**
   * At most one store write starts per this many ms while fewer than startBatch readings wait (default
   * 0: a write starts as soon as the last one is done). See `createSpoolForwarder` for why.
   */
  minWriteIntervalMs?: number;
  /**
   * The largest share of its time the forwarder spends in store writes while readings keep coming
   * (0 < share ≤ 1; default 1: no cap). Above it, the pause before the next write grows to
   * (1 / share − 1) × a write's smoothed duration, so the batches grow instead of the writes' count.
   * Applies only where minWriteIntervalMs > 0, and never holds back a full batch.
   */
  maxWriteShare?: number;
  /** The longest pause the share may ask for (default 250 ms). */
  maxWriteIntervalMs?: number;
  /**
   * A write starts once this many readings wait, without waiting out minWriteIntervalMs; the write
   * share still applies (default maxBatch: only a full batch cuts the interval short). See
   * `createSpoolForwarder` for why.
   */
  startBatch?: number;
}

export interface SpoolForwarderDeps {
  spool: SpoolLog;
  store: TelemetryStore;
  logger: Logger;
  metrics: Registry;
  /** For tests; defaults to Math.random. */
  random?: () => number;
}

export interface SpoolForwarderStats {
  forwarded: number;
  dropped: number;
  failures: number;
  /** True while a batch is being retried (the store is down or refusing). */
  retrying: boolean;
  /** True while it waits for the spool's next append: everything appended so far is forwarded. */
  idle: boolean;
}

export interface SpoolForwarder {
  readonly name: string;
  start(): void;
  /** Resolves once everything appended before the call is acknowledged by the store (and checkpointed). */
  flush(): Promise<void>;
  /** Stops after the in-flight batch (waiting at most closeTimeoutMs for it); unacknowledged records replay on the next start. */
  close(): Promise<void>;
  stats(): SpoolForwarderStats;
}

/**
 * The label of a failed write: an HTTP status when the error (or its cause — the InfluxDB store
 * wraps the client's HttpError) carries one, else unavailable / invalid / error.
 */
function statusOf(err: unknown): string {
  type WithStatus = { statusCode?: unknown; status?: unknown; cause?: WithStatus } | undefined;
  const e = err as WithStatus;
  const code = e?.statusCode ?? e?.status ?? e?.cause?.statusCode ?? e?.cause?.status;
  if (typeof code === 'number') return String(code);
  if (err instanceof InvalidBatchError) return 'invalid';
  return err instanceof StoreUnavailableError ? 'unavailable' : 'error';
}

/**
 * The spool's one consumer: reads records in order from the checkpoint, writes up to maxBatch
 * readings per store write, and only then acknowledges them (the spool moves its durable checkpoint
 * and deletes finished segments). Retries follow the in-memory writer's rules: the same batch again,
 * exponential backoff with full jitter (so a fleet of hubs does not hammer a recovering InfluxDB in
 * lockstep), never sooner than the store's Retry-After; any error but InvalidBatchError counts as
 * "unavailable". An invalid batch is dropped, counted and logged, so one bad reading cannot stall
 * the log. It wakes on the spool's append signal, so an idle forwarder adds no polling delay.
 *
 * `minWriteIntervalMs` paces the writes (Telegraf's flush_interval, much shorter): a store write has
 * a fixed cost (a DuckDB transaction is ~2.4 ms of CPU however few its readings; an InfluxDB write
 * is an HTTP request), and a forwarder that writes the moment the last write is done writes ever
 * smaller batches as the load falls, at ever more CPU per reading — 100 writes a second of ~56
 * readings at a quarter of saturation, with 2 cores busy. With the pause a reading waits at most the
 * interval longer to be stored (nothing else waits for that: alarms and the latest values come from
 * the pipeline); a write after a quiet spell starts at once, and a full batch is never held back.
 *
 * `maxWriteShare` stretches the pause when writes get slow, which is when the CPU is short: at
 * saturation on 2 cores a DuckDB write of ~600 readings takes 10–20 ms (its fixed part 1–2.5 ms of
 * CPU across DuckDB's threads), and a 25 ms interval keeps the store writing most of the time, fixed
 * costs included, on cores the load also waits for. Capped at a share of the time, the batches grow
 * there instead. The hub caps it at half: a quarter bought little more throughput and cost 60 ms of
 * publish → stored p99 at half load (BENCHMARKS.md, "2026-12-05, seventh").
 *
 * `startBatch` is the interval's other side (Telegraf's metric_batch_size beside its flush_interval):
 * the interval exists to share a write's fixed cost among enough readings, and once that many wait,
 * waiting longer only adds latency. So a write's batch is at least min(startBatch, what arrives in
 * the interval) — the CPU per reading stays bounded at low load, as with the interval alone — and a
 * reading waits at most ~startBatch / rate at higher loads: at half load on the reference machine 25
 * ms gathered ~345 readings a write, 150 gather in ~11 ms (BENCHMARKS.md, "2026-12-06, twelfth").
 */
export function createSpoolForwarder(config: SpoolForwarderConfig, deps: SpoolForwarderDeps): SpoolForwarder {
  const { spool, store } = deps;
  if (!(config.maxBatch >= 1)) throw new RangeError('spool forwarder: need maxBatch >= 1');
  const minWriteIntervalMs = config.minWriteIntervalMs ?? 0;
  if (!(minWriteIntervalMs >= 0)) throw new RangeError('spool forwarder: need minWriteIntervalMs >= 0');
  const maxWriteShare = config.maxWriteShare ?? 1;
  if (!(maxWriteShare > 0 && maxWriteShare <= 1)) throw new RangeError('spool forwarder: need 0 < maxWriteShare <= 1');
  /** Pause after a write per ms the writes take, for maxWriteShare. */
  const restPerWriteMs = 1 / maxWriteShare - 1;
  const maxWriteIntervalMs = Math.max(minWriteIntervalMs, config.maxWriteIntervalMs ?? 250);
  const startBatch = Math.min(config.startBatch ?? config.maxBatch, config.maxBatch);
  if (!(startBatch >= 1)) throw new RangeError('spool forwarder: need startBatch >= 1');
  const log = deps.logger.child({ part: 'storage', component: 'spool-forwarder', store: store.name });
  const random = deps.random ?? Math.random;
  const retryBaseMs = config.retryBaseMs ?? 200;
  const retryMaxMs = config.retryMaxMs ?? 30_000;
  const closeTimeoutMs = config.closeTimeoutMs ?? 5_000;
  const m = createForwarderMetrics(deps.metrics);
  const labels = { store: store.name };

  let forwarded = 0;
  let dropped = 0;
  let failures = 0;
  let retrying = false;
  let idle = false;
  let stopping = false;
  /** Set when close() stopped waiting: the batch in hand is abandoned, not acknowledged. */
  let abandoned = false;
  let loop: Promise<void> | undefined;
  /** close() cuts a retry pause or the idle wait short. */
  const waits = createInterruptible();
  let lastAck: Promise<void> = Promise.resolve();
  let inFlight = false;
  /** When the last batch was read (performance.now()), for minWriteIntervalMs. */
  let lastBatchAt = -Infinity;
  /** A successful store write's duration, smoothed (EWMA, weight 1/4 to the newest), ms; and when the last one ended. */
  let writeMs = 0;
  let lastWriteEndAt = -Infinity;
  let flushes: { target: SpoolPosition; resolve: () => void; reject: (err: Error) => void }[] = [];

  function settleFlushes(): void {
    // The read cursor counts only between batches: a batch read but not yet stored is not done.
    if (inFlight) return;
    const consumed = spool.readPosition();
    const ready = flushes.filter((f) => comparePositions(consumed, f.target) >= 0);
    if (ready.length === 0) return;
    flushes = flushes.filter((f) => !ready.includes(f));
    // A flush resolves once the checkpoint is durable: not left to wait out the spool's checkpoint interval.
    spool.checkpointNow();
    const ack = lastAck;
    for (const f of ready) void ack.then(f.resolve, f.reject);
  }

  /** True when the store took the batch or refused it for good; false when close() abandoned it. */
  async function writeWithRetry(batch: Reading[], encoded?: readonly EncodedReadings[]): Promise<boolean> {
    for (let attempt = 0; ; attempt += 1) {
      const end = m.roundtrip.startTimer(labels);
      const startedAt = performance.now();
      try {
        await store.write(batch, encoded);
        end({ outcome: 'ok' });
        lastWriteEndAt = performance.now();
        writeMs += (lastWriteEndAt - startedAt - writeMs) / 4;
        if (retrying) log.info({ attempts: attempt + 1 }, 'store accepts writes again');
        retrying = false;
        if (abandoned) return false; // close() has given up on this batch: leave it to the next start
        forwarded += batch.length;
        m.forwarded.inc(labels, batch.length);
        return true;
      } catch (err) {
        end({ outcome: 'error' });
        failures += 1;
        m.writeErrors.inc({ ...labels, status: statusOf(err) });
        if (err instanceof InvalidBatchError) {
          dropped += batch.length;
          m.dropped.inc({ ...labels, reason: 'invalid' }, batch.length);
          log.error({ err, device: batch[0]?.device, readings: batch.length }, 'store refused a batch as invalid: dropped');
          return true;
        }
        if (abandoned) return false;
        retrying = true;
        const hinted = err instanceof StoreUnavailableError ? (err.retryAfterMs ?? 0) : 0;
        const delay = Math.max(hinted, Math.round(backoffDelay(attempt, { baseMs: retryBaseMs, maxMs: retryMaxMs }, random)));
        log.warn({ err, attempt: attempt + 1, retryInMs: delay, readings: batch.length }, 'store write failed, retrying the batch');
        await waits.sleep(delay);
        if (abandoned) return false;
      }
    }
  }

  /**
   * Waits out what is left of minWriteIntervalMs since the last batch was read, and of the rest the
   * write share asks after the last write (at most maxWriteIntervalMs from the last read). Checked at
   * every group commit: once startBatch readings wait, only the write share's rest is left to wait;
   * once maxBatch wait, nothing (a backlog is never held back). close() interrupts.
   */
  async function pace(): Promise<void> {
    const shareUntil = lastWriteEndAt + restPerWriteMs * writeMs;
    const until = Math.min(lastBatchAt + maxWriteIntervalMs, Math.max(lastBatchAt + minWriteIntervalMs, shareUntil));
    const earlyUntil = Math.min(until, shareUntil);
    if (!(until - performance.now() > 0)) return;
    let timer: NodeJS.Timeout | undefined;
    let timerAt = Infinity;
    /** Set when the timer fires: it is always for the earliest due time so far, which is the pause's end. */
    let due = false;
    let wake: (() => void) | undefined;
    /** A timer for `at`, replacing a later one. */
    const wakeAt = (at: number) => {
      if (at >= timerAt) return;
      clearTimeout(timer);
      timerAt = at;
      timer = setTimeout(() => {
        due = true;
        wake?.();
      }, Math.max(0, at - performance.now()));
    };
    const elapsed = new Promise<void>((resolve) => { wake = resolve; });
    try {
      wakeAt(until);
      for (;;) {
        const { depth } = spool.stats();
        // Nothing unread during the pause is idle as much as the wait for the next append is.
        idle = depth === 0;
        if (due || stopping || depth >= config.maxBatch) break;
        if (depth >= startBatch) {
          if (!(earlyUntil - performance.now() > 0)) break;
          wakeAt(earlyUntil);
        }
        await waits.until(Promise.race([elapsed, spool.nextCommit()]));
      }
    } finally {
      idle = false;
      clearTimeout(timer);
    }
  }

  async function run(): Promise<void> {
    while (!stopping) {
      if (minWriteIntervalMs > 0) await pace();
      if (stopping) break;
      let records;
      // Set before the read: the read moves the cursor, possibly synchronously, past records not yet stored.
      inFlight = true;
      try {
        records = await spool.read(config.maxBatch);
      } catch (err) {
        inFlight = false;
        log.error({ err }, 'reading the spool failed; retrying');
        await waits.sleep(retryBaseMs);
        continue;
      }
      if (records.length === 0) {
        inFlight = false;
        settleFlushes();
        if (stopping) break;
        idle = true;
        await waits.until(spool.waitForRecords());
        idle = false;
        continue;
      }
      lastBatchAt = performance.now();
      // A record bigger than maxBatch is split; it is acknowledged once all its parts are stored.
      const readings = records.length === 1 ? [...records[0]!.readings] : records.flatMap((r) => r.readings);
      if (readings.length <= config.maxBatch) {
        // Whole records: the store may take the batch as the bytes the log holds (EncodedReadings).
        if (!(await writeWithRetry(readings, records.map((r) => ({ json: r.json, count: r.readings.length }))))) return;
      } else {
        for (let i = 0; i < readings.length; i += config.maxBatch) {
          if (!(await writeWithRetry(readings.slice(i, i + config.maxBatch)))) return;
        }
      }
      lastAck = spool.acknowledge(records.at(-1)!.next, readings.length)
        .catch((err: unknown) => log.error({ err }, 'spool checkpoint write failed; the next acknowledgement retries it'));
      inFlight = false;
      settleFlushes();
    }
  }

  return {
    name: 'spool-forwarder',
    start() {
      if (loop || stopping) return;
      loop = run().catch((err: unknown) => log.error({ err }, 'spool forwarder stopped on an unexpected error'));
    },
    flush() {
      if (stopping) return Promise.reject(new Error('spool forwarder is closed'));
      const done = new Promise<void>((resolve, reject) => flushes.push({ target: spool.endPosition(), resolve, reject }));
      settleFlushes();
      return done;
    },
    async close() {
      if (stopping) return;
      stopping = true;
      if (!retrying) waits.interrupt(); // idle: wake up to leave; retrying: let the batch finish, bounded
      if (loop) {
        let timer: NodeJS.Timeout | undefined;
        const timedOut = await Promise.race([
          loop.then(() => false),
          new Promise<boolean>((resolve) => { timer = setTimeout(() => resolve(true), closeTimeoutMs); }),
        ]);
        clearTimeout(timer);
        if (timedOut) {
          abandoned = true;
          waits.interrupt();
          log.warn({ closeTimeoutMs }, 'spool forwarder closed with a batch unacknowledged; it replays on the next start');
        }
      }
      spool.checkpointNow();
      await lastAck;
      for (const f of flushes.splice(0)) f.reject(new Error('spool forwarder closed before the flush completed'));
    },
    stats: () => ({ forwarded, dropped, failures, retrying, idle }),
  };
}
