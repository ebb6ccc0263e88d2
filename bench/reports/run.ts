/**
 * `npm run bench:reports`: report generation time for one site (the demo community, Chundu) over a
 * year of 15-minute meter data, on the embedded DuckDB store and on a real InfluxDB (Debian's
 * influxd 1.6.7, started here on a temp dir and a free port), each beside baselines measured in the
 * same run:
 *   1. backfill (devices-sim runBackfill, seed 7) the community's water and power meters — 26
 *      meters — and its weather station, 15-minute steps, over the baseline + reporting periods
 *      (+ 1 day before and 2 after, so the first and last days have their opening and closing reads),
 *      with LED lighting, booster pump VFD and low-flow fixture retrofits taking effect on the first
 *      reporting day, into a fresh DuckDB (temp dir) and into a fresh influxd database. The stores
 *      keep their daily register rollups as they take the backfill (storage/rollups/);
 *   2. per store, each report --runs times (default 3; the median is reported): savings (one-year
 *      reporting period against a one-year baseline) as Anju runs it, from the daily rollups; the
 *      same savings report from the raw readings, on the same store with its rollups hidden (the
 *      way every report ran before the rollups: 'first' register read per hour bucket) — the
 *      raw-read baseline; waste and fire safety (the reporting period). The first run of each report
 *      records the store calls it makes (SeriesQuery, latest, rollup days);
 *   3. per store, the same recorded store calls replayed alone, --runs times: "store queries" = the
 *      exact calls the report makes; "raw readings" = its series queries without bucketing (every
 *      15-minute reading, the fields the report asks for) and, for rollup reads, every register
 *      reading of those meters and days, paged per device and 28-day window on both stores, since
 *      InfluxDB 1.x answers at most `[http] max-row-limit` (10,000) rows per query.
 * report ms / store-queries ms is the share of the report that is the store; the rest is the
 * report's own computation (daily values, baseline fits, uncertainty) in this process.
 *
 * Only meters are backfilled by default (15-minute interval data, what smart meters deliver): the waste and fire
 * safety reports then read empty smart_bin / smoke_detector series and measure their fixed cost.
 * `--kinds smart_bin,smoke_detector` adds those devices (at `--other-step-min`, default 15) so those
 * reports read a year of data too.
 * Options: --baseline-days N (365), --reporting-days N (365), --reporting-to YYYY-MM-DD (2026-07-01,
 * exclusive, local to Asia/Shanghai), --runs N (3), --stores duckdb,influx, --kinds LIST,
 * --other-step-min N (15), --batch N (20,000 readings per store write), --max-minutes N (25).
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { cpus, loadavg, tmpdir, totalmem } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import pino from 'pino';
import { chunduCommunity, type Device, type KindName } from '../../core/index.js';
import { parseRetrofits, runBackfill } from '../../devices-sim/index.js';
import { createReports, type Reports } from '../../reports/index.js';
import { addDays, localMidnight } from '../../reports/time.js';
import type { AlarmStore } from '../../storage/alarms/contract.js';
import { createEmbeddedDatabase, createInfluxStore, type SeriesQuery, type TelemetryStore } from '../../storage/index.js';
import type { RegisterDayQuery } from '../../storage/rollups/contract.js';
import { startInfluxd, type Influxd } from '../../test/helpers/influxd.js';
import { median } from '../common/stats.js';

const { values } = parseArgs({ options: {
  'baseline-days': { type: 'string', default: '365' }, 'reporting-days': { type: 'string', default: '365' },
  'reporting-to': { type: 'string', default: '2026-07-01' }, runs: { type: 'string', default: '3' },
  stores: { type: 'string', default: 'duckdb,influx' }, kinds: { type: 'string', default: '' },
  'other-step-min': { type: 'string', default: '15' }, batch: { type: 'string', default: '20000' },
  'max-minutes': { type: 'string', default: '25' },
} });
const baselineDays = Number(values['baseline-days']);
const reportingDays = Number(values['reporting-days']);
const runs = Number(values.runs);
const otherStepMin = Number(values['other-step-min']);
const batchSize = Number(values.batch);
const maxMinutes = Number(values['max-minutes']);
for (const [name, v] of Object.entries({ 'baseline-days': baselineDays, 'reporting-days': reportingDays, runs, 'other-step-min': otherStepMin, batch: batchSize, 'max-minutes': maxMinutes })) {
  if (!Number.isInteger(v) || v < 1) throw new Error(`--${name} must be a positive integer`);
}
const reportingTo = values['reporting-to'];
if (!/^\d{4}-\d{2}-\d{2}$/.test(reportingTo)) throw new Error('--reporting-to must be YYYY-MM-DD');
const stores = values.stores.split(',').map((s) => s.trim()).filter(Boolean);
for (const s of stores) if (s !== 'duckdb' && s !== 'influx') throw new Error(`--stores: unknown store "${s}" (duckdb, influx)`);
const extraKinds = values.kinds.split(',').map((s) => s.trim()).filter(Boolean) as KindName[];
for (const k of extraKinds) if (k !== 'smart_bin' && k !== 'smoke_detector') throw new Error(`--kinds: "${k}" (smart_bin, smoke_detector)`);

const logger = pino({ level: 'warn' });
const SITE = 'chundu';
const TZ = 'Asia/Shanghai';
const DAY = 86_400_000;
const STEP = 15 * 60_000;
const SEED = 7;

// Periods (local dates, `to` exclusive): baseline right before the reporting period.
const reportingFrom = addDays(reportingTo, -reportingDays);
const baselineFrom = addDays(reportingFrom, -baselineDays);
const backfillEnd = localMidnight(addDays(reportingTo, 2), TZ);
const backfillStart = localMidnight(addDays(baselineFrom, -1), TZ);
const backfillDays = (backfillEnd - backfillStart) / DAY;
const retrofitSpec = `led:${reportingFrom},vfd:${reportingFrom},lowflow:${reportingFrom}`;

const community = chunduCommunity();
const devices: Device[] = community.devices
  .filter((d) => d.kind === 'power_meter' || d.kind === 'water_meter' || d.kind === 'weather_station' || extraKinds.includes(d.kind))
  .map((d) => ({ ...d, name: d.name ?? d.id, createdAt: 0 }));
const kindStepMs: Partial<Record<KindName, number>> = Object.fromEntries(extraKinds.map((k) => [k, otherStepMin * 60_000]));

// ---------------------------------------------------------------- cleanup, time bounds, interrupts

function withTimeout<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const limit = new Promise<never>((_, reject) => { timer = setTimeout(() => reject(new Error(`${what}: no answer within ${ms / 1000} s`)), ms); });
  return Promise.race([p, limit]).finally(() => clearTimeout(timer));
}

/** What to release, in reverse order, on the way out (normal end, failure, interrupt or time limit). */
const held: Array<{ name: string; release: () => unknown }> = [];
function hold(name: string, release: () => unknown): void { held.push({ name, release }); }
async function releaseAll(): Promise<void> {
  for (let item = held.pop(); item; item = held.pop()) {
    try {
      await withTimeout(Promise.resolve(item.release()), 20_000, `closing ${item.name}`);
    } catch (err) {
      console.error(`  cleanup: ${(err as Error).message}`);
    }
  }
}

let aborting = false;
async function abort(reason: string, code: number): Promise<never> {
  if (!aborting) {
    aborting = true;
    console.error(`bench/reports: ${reason}; cleaning up`);
    await releaseAll();
  }
  process.exit(code);
}

async function startServer(): Promise<Influxd> {
  const influx = await startInfluxd();
  hold('influxd', async () => {
    await withTimeout(influx.cleanup(), 15_000, 'influxd stop').catch(async (err: Error) => {
      console.error(`  cleanup: ${err.message}; killing it`);
      await influx.kill();
      await rm(influx.dir, { recursive: true, force: true });
    });
  });
  return influx;
}

// ---------------------------------------------------------------- recording and replaying store calls

type StoreCall = { type: 'series'; query: SeriesQuery } | { type: 'latest'; device: string } | { type: 'days'; query: RegisterDayQuery };

/**
 * The store, recording the calls made through it while `recording` is set; `withRollups: false`
 * hides the store's daily rollups, so reports read raw readings as they did before them.
 */
function recorder(inner: TelemetryStore, withRollups: boolean): { store: TelemetryStore; start(): void; stop(): StoreCall[] } {
  let calls: StoreCall[] | undefined;
  const rollups = inner.rollups;
  const store: TelemetryStore = {
    name: inner.name,
    write: (b) => inner.write(b),
    latest: (d) => { calls?.push({ type: 'latest', device: d }); return inner.latest(d); },
    latestAll: () => inner.latestAll(),
    series: (q) => { calls?.push({ type: 'series', query: q }); return inner.series(q); },
    ...(withRollups && rollups ? {
      rollups: {
        days: (q: RegisterDayQuery) => { calls?.push({ type: 'days', query: q }); return rollups.days(q); },
        rebuild: (q: Parameters<typeof rollups.rebuild>[0]) => rollups.rebuild(q),
      },
    } : {}),
    close: () => inner.close(),
  };
  return { store, start: () => { calls = []; }, stop: () => { const c = calls ?? []; calls = undefined; return c; } };
}

/** InfluxDB 1.x refuses more than `[http] max-row-limit` rows (10,000 by default) per answer, and the store never returns a truncated one. */
const RAW_WINDOW_MS = 28 * DAY;

/**
 * Replays the calls in order (as the reports make them: one at a time); returns rows read. `raw`:
 * each series query without bucketing, paged as a client must page InfluxDB's 10,000-row answers —
 * one query per device and 28-day window (≤ 2,688 readings at 15 min) — on both stores alike.
 */
async function replay(store: TelemetryStore, calls: readonly StoreCall[], raw: boolean): Promise<number> {
  let rows = 0;
  for (const c of calls) {
    if (c.type === 'latest') {
      rows += (await store.latest(c.device)) ? 1 : 0;
    } else if (c.type === 'days') {
      if (!raw) {
        rows += (await (store.rollups as NonNullable<TelemetryStore['rollups']>).days(c.query)).length;
        continue;
      }
      // The register readings those day rows summarise.
      const from = localMidnight(c.query.fromDate, TZ);
      const to = localMidnight(addDays(c.query.toDate, 1), TZ);
      for (const d of c.query.devices ?? devices.filter((x) => x.kind === c.query.kind).map((x) => x.id)) {
        for (let f = from; f < to; f += RAW_WINDOW_MS) {
          rows += (await store.series({ kind: c.query.kind, site: c.query.site, device: d, from: f, to: Math.min(to, f + RAW_WINDOW_MS),
            fields: [c.query.field] })).length;
        }
      }
    } else if (!raw) {
      rows += (await store.series(c.query)).length;
    } else {
      const q = c.query;
      for (const d of devices.filter((x) => x.kind === q.kind && x.site === q.site)) {
        for (let from = q.from; from < q.to; from += RAW_WINDOW_MS) {
          rows += (await store.series({ kind: q.kind, site: q.site, device: d.id, from, to: Math.min(q.to, from + RAW_WINDOW_MS),
            ...(q.fields ? { fields: q.fields } : {}) })).length;
        }
      }
    }
  }
  return rows;
}

// ---------------------------------------------------------------- measuring

async function timed(fn: () => Promise<unknown>): Promise<number> {
  const t0 = performance.now();
  await withTimeout(fn(), 300_000, 'timed step');
  return performance.now() - t0;
}

interface Row {
  store: string;
  report: string;
  reportMs: number[];
  queryMs: number[];
  rawMs: number[];
  calls: number;
  rows: number;
  rawRows: number;
  note: string;
}

interface StoreResult { store: string; backfill: { readings: number; ms: number; rate: number }; rows: Row[] }

async function measure(storeName: string, telemetry: TelemetryStore, alarms: AlarmStore): Promise<StoreResult> {
  console.error(`[${storeName}] backfilling ${backfillDays} days (${new Date(backfillStart).toISOString()} … ${new Date(backfillEnd).toISOString()}) of ${devices.length} devices, retrofits ${retrofitSpec}`);
  const b = await withTimeout(runBackfill(
    { days: backfillDays, end: backfillEnd, stepMs: STEP, kindStepMs, seed: SEED, retrofits: parseRetrofits(retrofitSpec), batchSize },
    { store: telemetry, devices, logger },
  ), maxMinutes * 60_000, 'backfill');
  console.error(`[${storeName}] backfilled ${b.readings} readings in ${(b.ms / 1000).toFixed(1)} s (${b.rate} readings/s)`);

  const withRollups = recorder(telemetry, true);
  const rawOnly = recorder(telemetry, false);
  const sites = { get: (id: string) => (id === SITE ? community.site : undefined) };
  const reportsOn = (store: TelemetryStore): Reports => createReports({}, { store, alarms, devices: { list: () => devices }, sites, clock: () => backfillEnd });
  const reports = reportsOn(withRollups.store);
  const rawReports = reportsOn(rawOnly.store);
  const period = { site: SITE, from: reportingFrom, to: reportingTo };
  const savings = async (on: Reports) => {
    const r = await on.savings({ ...period, baselineFrom, baselineTo: reportingFrom, confidence: 90 });
    const line = (k: string) => r.lines.find((l) => l.key === k);
    const f = (k: string) => { const l = line(k); return l ? `${(l.avoidedFraction * 100).toFixed(1)} % ± ${(l.uncertainty.onFraction * 100).toFixed(1)} (${l.claim?.status ?? '?'})` : 'n/a'; };
    return `baseline ${r.sufficiency?.status}; found: lighting ${f('purpose:electricity:common_lighting')}, pump ${f('purpose:electricity:water_pump')}, household water ${f('purpose:water:household')} (injected −40 %; −25 % VFD on a pump that also moves the 15 % less water the low-flow fixtures draw: ≈ −31 %; −15 %)`;
  };
  const cases: Array<{ name: string; rec: ReturnType<typeof recorder>; run: () => Promise<string> }> = [
    { name: `savings (${reportingDays} d vs ${baselineDays} d baseline), from the daily rollups`, rec: withRollups, run: () => savings(reports) },
    { name: `savings (${reportingDays} d vs ${baselineDays} d baseline), raw reads (baseline)`, rec: rawOnly, run: () => savings(rawReports) },
    { name: `waste (${reportingDays} d)`, rec: withRollups, run: async () => { const r = await reports.waste(period); return `${r.totals.collections} collections`; } },
    { name: `fire safety (${reportingDays} d)`, rec: withRollups, run: async () => { const r = await reports.fireSafety(period); return `${r.tests.count} tests, ${r.batteryLow.detectors.length} low batteries`; } },
  ];
  const rows: Row[] = [];
  for (const c of cases) {
    const rec = c.rec;
    const row: Row = { store: storeName, report: c.name, reportMs: [], queryMs: [], rawMs: [], calls: 0, rows: 0, rawRows: 0, note: '' };
    let calls: StoreCall[] = [];
    for (let i = 0; i < runs; i++) {
      if (i === 0) rec.start();
      let note = '';
      try {
        row.reportMs.push(await timed(async () => { note = await c.run(); }));
      } catch (err) {
        note = `FAILED: ${(err as Error).message}`;
        row.reportMs.push(NaN);
      }
      if (i === 0) { calls = rec.stop(); row.note = note; }
    }
    row.calls = calls.length;
    if (row.reportMs.some((x) => Number.isNaN(x))) { row.note = row.note.startsWith('FAILED') ? row.note : `FAILED in a later run; ${row.note}`; }
    for (let i = 0; i < runs; i++) row.queryMs.push(await timed(async () => { row.rows = await replay(telemetry, calls, false); }));
    for (let i = 0; i < runs; i++) row.rawMs.push(await timed(async () => { row.rawRows = await replay(telemetry, calls, true); }));
    console.error(`[${storeName}] ${c.name}: report ${row.reportMs.map((x) => x.toFixed(0)).join('/')} ms, queries ${row.queryMs.map((x) => x.toFixed(0)).join('/')} ms, raw ${row.rawMs.map((x) => x.toFixed(0)).join('/')} ms — ${row.note}`);
    rows.push(row);
  }
  return { store: storeName, backfill: { readings: b.readings, ms: b.ms, rate: b.rate }, rows };
}

async function main(): Promise<void> {
  const cpu = cpus();
  console.log(`bench/reports — ${new Date().toISOString()}, node ${process.version}, ${cpu.length} × ${cpu[0]?.model ?? '?'}, ${Math.round(totalmem() / 2 ** 30)} GiB, load ${loadavg().map((l) => l.toFixed(1)).join(' ')}`);
  console.log(`site ${SITE} (${TZ}): ${devices.length} devices (${[...new Set(devices.map((d) => d.kind))].join(', ')}), 15-min steps${extraKinds.length ? ` (${extraKinds.join(', ')} every ${otherStepMin} min)` : ''}`);
  console.log(`baseline ${baselineFrom} … ${reportingFrom} (${baselineDays} d), reporting ${reportingFrom} … ${reportingTo} (${reportingDays} d, exclusive ends), retrofits ${retrofitSpec}; ${runs} runs each, median\n`);

  const dir = await mkdtemp(join(tmpdir(), 'anju-bench-reports-'));
  hold('temp dir', () => rm(dir, { recursive: true, force: true }));
  const results: StoreResult[] = [];

  // The alarm store is always the embedded one (also with InfluxDB telemetry, as in production).
  if (stores.includes('duckdb')) {
    const db = await createEmbeddedDatabase({ dataDir: join(dir, 'duckdb'), memoryLimit: '1GB', threads: 2 }, { logger });
    hold('duckdb', () => db.close());
    results.push(await measure('DuckDB (embedded)', db.telemetry, db.alarms));
    await releaseAll(); // closes it and removes its temp dir before the next store
  }
  if (stores.includes('influx')) {
    const dir2 = await mkdtemp(join(tmpdir(), 'anju-bench-reports-'));
    hold('temp dir', () => rm(dir2, { recursive: true, force: true }));
    const state = await createEmbeddedDatabase({ dataDir: dir2, memoryLimit: '256MB', threads: 2 }, { logger });
    hold('duckdb (alarms)', () => state.close());
    const influx = await startServer();
    await influx.createDatabase('anju_bench_reports');
    const store = createInfluxStore({ url: influx.url, db: 'anju_bench_reports', timeoutMs: 120_000 }, { logger });
    hold('influxdb store', () => store.close());
    results.push(await measure('InfluxDB 1.6.7', store, state.alarms));
  }
  await releaseAll();

  console.log('| store | backfilled readings | backfill s | readings/s |');
  console.log('|---|---:|---:|---:|');
  for (const r of results) console.log(`| ${r.store} | ${r.backfill.readings.toLocaleString('en-US')} | ${(r.backfill.ms / 1000).toFixed(1)} | ${r.backfill.rate.toLocaleString('en-US')} |`);
  console.log('\n| store | report | report ms | store queries ms (same queries) | report / queries | raw readings ms (unbucketed) | store calls | rows (queries / raw) |');
  console.log('|---|---|---:|---:|---:|---:|---:|---:|');
  for (const r of results) {
    for (const row of r.rows) {
      const rep = median(row.reportMs);
      const q = median(row.queryMs);
      console.log(`| ${row.store} | ${row.report} | ${rep.toFixed(0)} | ${q.toFixed(0)} | ${(rep / q).toFixed(2)} | ${median(row.rawMs).toFixed(0)} | ${row.calls} | ${row.rows.toLocaleString('en-US')} / ${row.rawRows.toLocaleString('en-US')} |`);
    }
  }
  for (const r of results) {
    const fast = r.rows.find((x) => x.report.includes('from the daily rollups'));
    const slow = r.rows.find((x) => x.report.includes('raw reads'));
    if (fast && slow) {
      const a = median(fast.reportMs);
      const b = median(slow.reportMs);
      console.log(`\n${r.store}: savings ${a.toFixed(0)} ms from the rollups against ${b.toFixed(0)} ms from raw reads in the same run (${(b / a).toFixed(1)}× faster)`);
    }
  }
  console.log('\nmedians of', runs, 'runs; all runs (ms) and what the reports found:');
  for (const r of results) {
    for (const row of r.rows) console.log(`- ${row.store}, ${row.report}: report ${row.reportMs.map((x) => x.toFixed(0)).join(', ')}; queries ${row.queryMs.map((x) => x.toFixed(0)).join(', ')}; raw ${row.rawMs.map((x) => x.toFixed(0)).join(', ')} — ${row.note}`);
  }
  console.log(`\nload average at the end: ${loadavg().map((l) => l.toFixed(1)).join(' ')}`);
}

process.once('SIGINT', () => void abort('interrupted (SIGINT)', 130));
process.once('SIGTERM', () => void abort('terminated (SIGTERM)', 143));
setTimeout(() => void abort(`did not finish within ${maxMinutes} min`, 1), maxMinutes * 60_000).unref();

main().then(
  () => process.exit(),
  (err: Error) => { console.error(err); void abort('failed', 1); },
);
