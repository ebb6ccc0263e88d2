import type { Logger } from 'pino';
import { Counter, Gauge, type Registry } from 'prom-client';
import { backoffDelay, createInterruptible, getOrCreateMetric } from '../../core/util/index.js';
import { alarmEventMeasurement } from '../../core/index.js';
import { createInfluxHttp, InvalidBatchError, StoreUnavailableError, type InfluxConfig, type InfluxHttp, type LatestCache } from '../../storage/index.js';
import type { AlarmEvent, DeviceView } from '../contracts.js';
import type { AlertEngine } from '../engine.js';
import { eventLine, statusLine } from './ops-lines.js';
import { fleetStatus } from './status.js';

/**
 * The alarm & fleet status exporter (`ANJU_STORE=influxdb`): the alarm store's event log and a
 * periodic fleet status gauge, written to InfluxDB for Grafana's control-room overview. Schema:
 * `core/ops-metrics.ts`.
 *
 * Events. The source of truth is the alarm store's event log (gap-free, monotonic `seq`); the
 * engine's listener is the fast path. On start the exporter subscribes first (live events queue in
 * memory), then reads its cursor from InfluxDB (`SELECT max("seq")`: what is there is exported) and
 * catches up with `eventsSince(cursor)` before it takes events from the queue. Points are
 * idempotent (series + time fixed by the event, see ops-lines.ts), so a replay overwrites and never
 * duplicates. A write InfluxDB cannot take now (down, 5xx, 429) is retried, in order, with capped
 * exponential backoff and full jitter, never sooner than Retry-After. Meanwhile live events wait in
 * a bounded buffer; when it is full the newest are let go (counted in
 * `anju_ops_export_evicted_total`) and re-read from the alarm store once InfluxDB is back — they are
 * not lost. Lost for good, counted in `anju_ops_export_dropped_total{stream="events"}` and logged at
 * error: events pruned from the alarm store before they were exported (`reason="pruned"`), and
 * events InfluxDB refuses as invalid (400; `reason="refused"`, after trying them one by one).
 * `stop()` lets the write in flight finish (bounded) and gives up on the rest: the next start
 * replays it from the cursor.
 *
 * Status. Every `statusIntervalMs` one point per site and building (status.ts). A snapshot that
 * cannot be written is not retried (the next one supersedes it); it is counted as
 * `anju_ops_export_dropped_total{stream="status",reason="unavailable"}` and logged.
 */
export interface OpsExporterConfig {
  influx: InfluxConfig;
  /** Fleet status gauge period (ANJU_OPS_STATUS_INTERVAL_S, default 60 s). 0 disables the timer. */
  statusIntervalMs: number;
  /** Events per write (default 500). */
  batchMax?: number;
  /** Live events held in memory while InfluxDB is away (default 10,000). */
  bufferMax?: number;
  retryBaseMs?: number;
  retryMaxMs?: number;
  /** How long stop() waits for the write in flight (default 5 s). */
  stopTimeoutMs?: number;
}

export interface OpsExporterDeps {
  engine: Pick<AlertEngine, 'subscribe' | 'eventsSince' | 'active'>;
  /** The alarm store's highest seq (AlarmStore.lastSeq): notices a cursor from an alarm store that was reset. */
  lastSeq?: () => Promise<number>;
  devices: Pick<DeviceView, 'list'>;
  latest: Pick<LatestCache, 'get'>;
  logger: Logger;
  metrics: Registry;
  clock?: () => number;
  random?: () => number;
}

export interface OpsExporterStats {
  /** Highest seq known to be in InfluxDB (undefined until read). */
  cursor: number | undefined;
  exported: number;
  dropped: number;
  evicted: number;
  buffered: number;
  retrying: boolean;
}

export interface OpsExporter {
  start(): void;
  stop(): Promise<void>;
  /** Resolves once every event stored so far is in InfluxDB (or dropped); for tests and shutdown. */
  idle(): Promise<void>;
  /** Writes one fleet status snapshot at `now` (the timer calls this); false when InfluxDB refused it. */
  writeStatus(now?: number): Promise<boolean>;
  stats(): OpsExporterStats;
}

function metricsFor(reg: Registry) {
  return {
    exported: getOrCreateMetric(reg, 'anju_ops_export_events_total', () => new Counter({
      name: 'anju_ops_export_events_total', help: 'Alarm events written to InfluxDB by the ops exporter (replays included)', registers: [reg],
    })),
    dropped: getOrCreateMetric(reg, 'anju_ops_export_dropped_total', () => new Counter({
      name: 'anju_ops_export_dropped_total', help: 'Alarm events or status snapshots that will never reach InfluxDB, by stream and reason', labelNames: ['stream', 'reason'], registers: [reg],
    })),
    evicted: getOrCreateMetric(reg, 'anju_ops_export_evicted_total', () => new Counter({
      name: 'anju_ops_export_evicted_total', help: 'Live alarm events let go from the full export buffer (re-read from the alarm store later, not lost)', registers: [reg],
    })),
    failures: getOrCreateMetric(reg, 'anju_ops_export_write_failures_total', () => new Counter({
      name: 'anju_ops_export_write_failures_total', help: 'Failed ops exporter writes to InfluxDB (each retry counts), by stream', labelNames: ['stream'], registers: [reg],
    })),
    lag: getOrCreateMetric(reg, 'anju_ops_export_lag_events', () => new Gauge({
      name: 'anju_ops_export_lag_events', help: 'Alarm events published by the engine but not yet in InfluxDB', registers: [reg],
    })),
  };
}

export function createOpsExporter(config: OpsExporterConfig, deps: OpsExporterDeps): OpsExporter {
  const log = deps.logger.child({ part: 'ops-exporter' });
  const http: InfluxHttp = createInfluxHttp({ ...config.influx, precision: 'ns' }, { logger: log, metrics: deps.metrics });
  const m = metricsFor(deps.metrics);
  const clock = deps.clock ?? Date.now;
  const random = deps.random ?? Math.random;
  const batchMax = Math.max(1, config.batchMax ?? 500);
  const bufferMax = Math.max(1, config.bufferMax ?? 10_000);
  const retryBaseMs = config.retryBaseMs ?? 500;
  const retryMaxMs = config.retryMaxMs ?? 30_000;
  const stopTimeoutMs = config.stopTimeoutMs ?? 5_000;

  let cursor: number | undefined;
  const queue: AlarmEvent[] = [];
  /** True until a read of the alarm store comes back short: events may exist that the queue lacks. */
  let behind = true;
  /** Bumped on every eviction, so a store read that overlapped one does not clear `behind`. */
  let evictions = 0;
  let liveMax = 0;
  let exported = 0;
  let dropped = 0;
  let retrying = false;
  let running = false;
  let stopping = false;
  let loop: Promise<void> | undefined;
  let unsubscribe: (() => void) | undefined;
  let timer: NodeJS.Timeout | undefined;
  let statusInFlight: Promise<boolean> | undefined;
  let statusFailing = false;
  const idleWaiters: Array<() => void> = [];
  let wake: (() => void) | undefined;
  /** stop() cuts a retry pause short. */
  const pauses = createInterruptible();

  const updateLag = () => m.lag.set(Math.max(0, liveMax - (cursor ?? liveMax)));

  function onEvent(e: AlarmEvent): void {
    if (e.seq > liveMax) liveMax = e.seq;
    updateLag();
    if (queue.length >= bufferMax) {
      if (evictions === 0 || !behind) log.warn({ bufferMax, seq: e.seq }, 'ops export buffer full: later alarm events will be re-read from the alarm store');
      evictions += 1;
      behind = true;
      m.evicted.inc();
      return;
    }
    queue.push(e);
    const w = wake;
    wake = undefined;
    w?.();
  }

  /** Waits for a live event (or stop). */
  const waitForWork = () => new Promise<void>((resolve) => { wake = resolve; });
  /** Sleeps (a backoff); only stop cuts it short, so a stream of live events cannot hammer a down InfluxDB. */
  const pause = (ms: number) => pauses.sleep(ms);
  const backoff = (attempt: number, retryAfterMs?: number) =>
    Math.max(retryAfterMs ?? 0, backoffDelay(attempt, { baseMs: retryBaseMs, maxMs: retryMaxMs }, random));

  async function readCursor(): Promise<number> {
    const [r] = await http.query([`SELECT max("${alarmEventMeasurement.fields.seq}") FROM "${alarmEventMeasurement.name}"`]);
    const v = r?.series?.[0]?.values[0]?.[1];
    let c = typeof v === 'number' ? v : 0;
    const storeLast = deps.lastSeq ? await deps.lastSeq() : undefined;
    if (storeLast !== undefined && c > storeLast) {
      log.warn({ influx: c, store: storeLast }, 'InfluxDB holds alarm events beyond the alarm store\'s last seq (alarm store reset?): exporting the whole event log again');
      c = 0;
    }
    return c;
  }

  /** The live events that follow `from` without a gap (those up to `from` are let go). */
  function fromQueue(from: number): AlarmEvent[] {
    while (queue.length > 0 && (queue[0] as AlarmEvent).seq <= from) queue.shift();
    const out: AlarmEvent[] = [];
    while (out.length < batchMax && queue.length > 0 && (queue[0] as AlarmEvent).seq === from + 1 + out.length) out.push(queue.shift() as AlarmEvent);
    return out;
  }

  async function nextBatch(from: number): Promise<AlarmEvent[]> {
    const live = fromQueue(from);
    if (live.length > 0) return live;
    if (queue.length === 0 && !behind) return [];
    // A gap (start-up, evictions): the alarm store has what the queue lacks.
    const seen = evictions;
    const events = await deps.engine.eventsSince(from, batchMax);
    if (events.length < batchMax && seen === evictions) behind = false;
    const first = events[0];
    if (first) {
      if (first.seq > from + 1) lost(from, first.seq);
      return events;
    }
    // The read saw nothing after `from`, but it may have begun before events that were published while
    // it ran: those are in the queue now, and they are next — not after the next live event.
    const arrived = fromQueue(from);
    if (arrived.length > 0) return arrived;
    const head = queue[0];
    if (head === undefined) return [];
    lost(from, head.seq);
    return fromQueue(head.seq - 1);
  }

  function lost(after: number, next: number): void {
    const n = next - after - 1;
    dropped += n;
    m.dropped.inc({ stream: 'events', reason: 'pruned' }, n);
    log.error({ fromSeq: after + 1, toSeq: next - 1, events: n }, 'alarm events were pruned from the alarm store before they were exported: they are missing in InfluxDB');
    cursor = next - 1;
  }

  /** Writes with retries; 'invalid' when InfluxDB refuses the body, 'stopped' when stop() gave up on it. */
  async function writeWithRetry(lines: readonly string[]): Promise<'ok' | 'invalid' | 'stopped'> {
    for (let attempt = 0; ; attempt++) {
      try {
        await http.write(lines);
        if (retrying) log.info({ attempts: attempt }, 'InfluxDB takes alarm events again');
        retrying = false;
        return 'ok';
      } catch (err) {
        if (err instanceof InvalidBatchError) return 'invalid';
        m.failures.inc({ stream: 'events' });
        if (!retrying) log.warn({ err: (err as Error).message }, 'alarm events not written to InfluxDB: retrying with backoff');
        retrying = true;
        if (stopping) return 'stopped';
        await pause(backoff(attempt, err instanceof StoreUnavailableError ? err.retryAfterMs : undefined));
        if (stopping) return 'stopped';
      }
    }
  }

  async function exportBatch(batch: readonly AlarmEvent[]): Promise<boolean> {
    const result = await writeWithRetry(batch.map(eventLine));
    if (result === 'stopped') return false;
    if (result === 'ok') {
      exported += batch.length;
      m.exported.inc(batch.length);
      cursor = (batch[batch.length - 1] as AlarmEvent).seq;
      return true;
    }
    // InfluxDB refused the body (400): one bad event must not take its batch with it, try them one by one.
    for (const e of batch) {
      const one = batch.length === 1 ? 'invalid' : await writeWithRetry([eventLine(e)]);
      if (one === 'stopped') return false;
      if (one === 'ok') {
        exported += 1;
        m.exported.inc();
      } else {
        dropped += 1;
        m.dropped.inc({ stream: 'events', reason: 'refused' });
        log.error({ seq: e.seq, alarm: e.alarm.id, type: e.type }, 'InfluxDB refused an alarm event: it is missing in InfluxDB');
      }
      cursor = e.seq;
    }
    return true;
  }

  async function run(): Promise<void> {
    let attempt = 0;
    while (!stopping) {
      try {
        if (cursor === undefined) {
          cursor = await readCursor();
          log.info({ cursor }, 'alarm event export resuming after the last seq in InfluxDB');
        }
        const batch = await nextBatch(cursor);
        attempt = 0;
        if (batch.length === 0) {
          for (const w of idleWaiters.splice(0)) w();
          if (!stopping) await waitForWork();
          continue;
        }
        const done = await exportBatch(batch);
        updateLag();
        if (!done) return;
      } catch (err) {
        // The cursor query or the alarm store read failed (InfluxDB or the store away): try again later.
        if (stopping) return;
        m.failures.inc({ stream: 'events' });
        if (attempt === 0) log.warn({ err: (err as Error).message }, 'alarm event export cannot proceed: retrying with backoff');
        await pause(backoff(attempt++, err instanceof StoreUnavailableError ? err.retryAfterMs : undefined));
      }
    }
  }

  async function writeStatus(now = clock()): Promise<boolean> {
    const rows = fleetStatus({ devices: deps.devices.list(), active: deps.engine.active(), latest: (id) => deps.latest.get(id) });
    if (rows.length === 0) return true;
    try {
      await http.write(rows.map((r) => statusLine(r, now)));
      if (statusFailing) log.info('fleet status written to InfluxDB again');
      statusFailing = false;
      return true;
    } catch (err) {
      m.failures.inc({ stream: 'status' });
      m.dropped.inc({ stream: 'status', reason: err instanceof InvalidBatchError ? 'refused' : 'unavailable' });
      if (!statusFailing) log.warn({ err: (err as Error).message, rows: rows.length }, 'fleet status snapshot not written to InfluxDB (dropped; the next one follows)');
      statusFailing = true;
      return false;
    }
  }

  return {
    start() {
      if (running) return;
      running = true;
      stopping = false;
      // Subscribe before the cursor is read: nothing published meanwhile can slip between the two.
      unsubscribe = deps.engine.subscribe(onEvent);
      loop = run().catch((err: unknown) => log.error({ err }, 'alarm event export stopped unexpectedly'));
      if (config.statusIntervalMs > 0) {
        timer = setInterval(() => {
          if (statusInFlight) return; // a slow InfluxDB: skip, never pile up
          statusInFlight = writeStatus().finally(() => { statusInFlight = undefined; });
        }, config.statusIntervalMs);
        timer.unref();
      }
      log.info({ statusIntervalMs: config.statusIntervalMs }, 'ops exporter started');
    },
    async stop() {
      if (!running) return;
      running = false;
      stopping = true;
      unsubscribe?.();
      if (timer) clearInterval(timer);
      wake?.();
      pauses.interrupt();
      let t: NodeJS.Timeout | undefined;
      await Promise.race([
        Promise.allSettled([loop, statusInFlight]),
        new Promise((resolve) => { t = setTimeout(resolve, stopTimeoutMs); }),
      ]);
      clearTimeout(t);
      for (const w of idleWaiters.splice(0)) w();
      log.info({ cursor, exported, dropped, unexported: Math.max(0, liveMax - (cursor ?? 0)) }, 'ops exporter stopped; anything unexported replays on the next start');
    },
    idle() {
      if (!running) return Promise.resolve();
      return new Promise<void>((resolve) => {
        idleWaiters.push(resolve);
        // If the loop is waiting for work, let it look again (and find nothing).
        const w = wake;
        wake = undefined;
        w?.();
      });
    },
    writeStatus,
    stats: () => ({ cursor, exported, dropped, evicted: evictions, buffered: queue.length, retrying }),
  };
}
