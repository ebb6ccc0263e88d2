/**
 * `npm run bench:retention`: what raw readings, hourly aggregates and daily register rollups cost on
 * disk, the yearly growth of a 2,000-device community at one reading a minute with and without
 * rollups + retention, and ingest latency while retention deletes, beside a baseline in the same run.
 *   1. --devices power meters (energy register, power, voltage, current; seeded random walks) at one
 *      reading a minute over --days, written in time order, 10 minutes of every meter a batch;
 *   2. bytes on disk: each group of tables copied alone into a fresh DuckDB file (compacted, as a
 *      backup holds it), minus the same copy with no rows: raw kind tables, hourly tables, register_days;
 *   3. InfluxDB 1.6.7 (when /usr/bin/influxd exists): the same readings as line protocol, bytes of
 *      its data + WAL dirs once the cache is snapshotted into TSM files and compacted;
 *   4. ingest while retention deletes: a fresh store holding the history with a raw period of one day,
 *      which puts all but its last day past it; live batches (one reading of every meter each) timed
 *      alone (baseline), then again while one retention pass deletes the rest.
 * Growth per year is a projection from the measured bytes per row (minute data of real meters
 * compresses differently from this synthetic walk). Options: --devices N (200), --days N (3),
 * --live N (200 batches per phase).
 */
import { existsSync } from 'node:fs';
import { mkdtemp, readdir, rm, stat } from 'node:fs/promises';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { DuckDBInstance } from '@duckdb/node-api';
import pino from 'pino';
import { kindNames, type Reading } from '../../core/index.js';
import { directoryBytes } from '../../storage/disk.js';
import { createEmbeddedDatabase, type EmbeddedDatabase } from '../../storage/index.js';
import { toLine } from '../../storage/influxdb/index.js';
import { startInfluxd } from '../../test/helpers/influxd.js';
import { percentile } from '../common/stats.js';

const { values } = parseArgs({ options: {
  devices: { type: 'string', default: '200' }, days: { type: 'string', default: '3' },
  live: { type: 'string', default: '200' },
} });
const devices = Number(values.devices);
const days = Number(values.days);
const liveBatches = Number(values.live);
const logger = pino({ level: 'silent' });
const MIN = 60_000;
const HOUR = 60 * MIN;
const DAY = 24 * HOUR;
const END = Date.UTC(2026, 0, 1);
const START = END - days * DAY;
const MiB = 2 ** 20;

/** Deterministic xorshift, so every run writes the same walk. */
function rng(seed: number): () => number {
  let x = seed >>> 0 || 1;
  return () => {
    x ^= x << 13; x >>>= 0; x ^= x >>> 17; x ^= x << 5; x >>>= 0;
    return x / 2 ** 32;
  };
}

function* batches(from: number, to: number): Generator<Reading[]> {
  const r = rng(2026);
  const energy = new Float64Array(devices).fill(1000);
  for (let t = from; t < to; t += 10 * MIN) {
    const batch: Reading[] = [];
    for (let ts = t; ts < Math.min(to, t + 10 * MIN); ts += MIN) {
      for (let d = 0; d < devices; d++) {
        const power = Math.round(200 + r() * 1800);
        energy[d] = (energy[d] as number) + power / 60_000;
        batch.push({
          device: `pm-${d}`, kind: 'power_meter', site: 'bench', building: `b${d % 20}`, ts,
          fields: {
            energy: Math.round((energy[d] as number) * 100) / 100, power,
            voltage: Math.round((220 + r() * 10) * 10) / 10, current: Math.round(power / 2.2) / 100,
          },
        });
      }
    }
    yield batch;
  }
}

async function fill(db: EmbeddedDatabase): Promise<number> {
  let n = 0;
  for (const b of batches(START, END)) {
    await db.telemetry.write(b);
    n += b.length;
  }
  return n;
}

/** Bytes of a compacted copy of `file` holding only the rows of `tables` (every table's schema, all other tables empty). */
async function copyBytes(file: string, work: string, name: string, tables: readonly string[]): Promise<number> {
  const inst = await DuckDBInstance.create(file);
  const c = await inst.connect();
  const target = join(work, `${name}.duckdb`);
  await c.run(`ATTACH '${target}' AS dst`);
  await c.run('COPY FROM DATABASE anju TO dst (SCHEMA)');
  for (const t of tables) await c.run(`INSERT INTO dst."${t}" SELECT * FROM anju."${t}"`);
  await c.run('DETACH dst');
  c.closeSync();
  inst.closeSync();
  return (await stat(target)).size;
}

/** Bytes of the files under `dir` whose name ends with `suffix`. */
async function filesBytes(dir: string, suffix: string): Promise<number> {
  let total = 0;
  for (const e of await readdir(dir, { withFileTypes: true, recursive: true })) {
    if (e.isFile() && e.name.endsWith(suffix)) total += (await stat(join(e.parentPath, e.name))).size;
  }
  return total;
}

const work = await mkdtemp(join(tmpdir(), 'anju-bench-retention-'));
try {
  console.log(`bench:retention — ${devices} meters × 1/min × ${days} days; ${cpus().length} cores, load ${loadavg().map((l) => l.toFixed(2)).join(' ')}`);
  // 1–2. Bytes per row of each kind of table.
  const dataDir = join(work, 'sizes');
  let db = await createEmbeddedDatabase({ dataDir, memoryLimit: '1GB', threads: 2 }, { logger, now: () => END });
  const started = performance.now();
  const readings = await fill(db);
  const writeS = (performance.now() - started) / 1000;
  const hourlyRows = await db.hourlyRows();
  await db.close();
  const file = join(dataDir, 'anju.duckdb');
  const empty = await copyBytes(file, work, 'empty', []);
  const raw = (await copyBytes(file, work, 'raw', kindNames)) - empty;
  const hourly = (await copyBytes(file, work, 'hourly', kindNames.map((k) => `hourly_${k}`))) - empty;
  const daily = (await copyBytes(file, work, 'daily', ['register_days'])) - empty;
  const dailyRows = devices * (days + 1);
  const perReading = raw / readings;
  const perHour = hourly / hourlyRows;
  const perDay = daily / dailyRows;
  console.log(`wrote ${readings.toLocaleString('en')} readings in ${writeS.toFixed(1)} s (${Math.round(readings / writeS).toLocaleString('en')}/s, raw + hourly + daily in each transaction)`);
  console.log(`DuckDB bytes on disk (compacted): ${perReading.toFixed(2)} per raw reading (4 fields), ${perHour.toFixed(1)} per hourly row`
    + ` (${hourlyRows.toLocaleString('en')} rows), ${perDay.toFixed(1)} per register day (~${dailyRows.toLocaleString('en')} rows; few rows: 256 KiB blocks make this an upper bound)`);

  // 3. InfluxDB 1.6.7.
  let influxPerReading: number | undefined;
  if (existsSync('/usr/bin/influxd')) {
    // Cold after a second: the cache is snapshotted into TSM files and fully compacted, as it is
    // 10 min (snapshot) and 4 h (full compaction) after writes stop by default.
    const influx = await startInfluxd({ database: 'bench', data: ['cache-snapshot-write-cold-duration = "1s"', 'compact-full-write-cold-duration = "2s"'] });
    try {
      for (const b of batches(START, END)) {
        const res = await fetch(`${influx.url}/write?db=bench&precision=ms`, { method: 'POST', body: b.map((r) => toLine(r)).filter((l) => l !== undefined).join('\n') });
        if (res.status !== 204) throw new Error(`influxd write: ${res.status} ${await res.text()}`);
      }
      // Until the WAL is folded into TSM files and they are compacted (a condition, bounded at 60 s).
      const walEmpty = async () => (await directoryBytes(join(influx.dir, 'wal'))) < 64 * 1024;
      for (let i = 0; i < 600 && !(await walEmpty()); i++) await new Promise((r) => setTimeout(r, 100));
      await new Promise((r) => setTimeout(r, 5_000)); // full compaction runs 2 s after the last write
      await influx.stop();
      const bytes = (await directoryBytes(join(influx.dir, 'data'))) + (await directoryBytes(join(influx.dir, 'wal')));
      // The series file (_series) is preallocated in fixed segments: per series, not per reading.
      const tsm = await filesBytes(join(influx.dir, 'data'), '.tsm');
      influxPerReading = tsm / readings;
      console.log(`InfluxDB 1.6.7 bytes on disk: ${influxPerReading.toFixed(2)} per reading in TSM files (snapshotted and compacted);`
        + ` ${(bytes / MiB).toFixed(1)} MiB in all with the preallocated series file and index`);
    } finally {
      await influx.cleanup();
    }
  } else {
    console.log('InfluxDB: /usr/bin/influxd not found, skipped');
  }

  // Yearly growth of 2,000 meters at 1/min, from the bytes per row measured above.
  const community = 2_000;
  const perYear = { raw: community * 525_600 * perReading, hourly: community * 8_760 * perHour, daily: community * 365 * perDay };
  const GiB = 2 ** 30;
  console.log(`2,000 meters × 1/min, per year: raw readings kept forever ${(perYear.raw / GiB).toFixed(1)} GiB/year`
    + `${influxPerReading ? ` (InfluxDB ${((community * 525_600 * influxPerReading) / GiB).toFixed(1)} GiB/year)` : ''}; `
    + `with rollups and ANJU_RETENTION_RAW_DAYS=760: ${((perYear.raw * 760) / 365 / GiB).toFixed(1)} GiB of raw at most, then `
    + `${((perYear.hourly + perYear.daily) / MiB).toFixed(0)} MiB/year (hourly ${(perYear.hourly / MiB).toFixed(0)} + daily ${(perYear.daily / MiB).toFixed(0)})`);

  // 4. Ingest latency while retention deletes.
  const liveDir = join(work, 'live');
  let clock = START;
  db = await createEmbeddedDatabase({ dataDir: liveDir, memoryLimit: '1GB', threads: 2, retention: { rawDays: 0 } }, { logger, now: () => clock });
  await fill(db);
  await db.close();
  clock = END;
  db = await createEmbeddedDatabase({ dataDir: liveDir, memoryLimit: '1GB', threads: 2, retention: { rawDays: 1 } },
    { logger, now: () => clock });
  // The floor is END − 1 day: everything older goes in this pass.
  let liveTs = END;
  const live = async (): Promise<number> => {
    const batch: Reading[] = [];
    for (let d = 0; d < devices; d++) {
      batch.push({ device: `pm-${d}`, kind: 'power_meter', site: 'bench', building: `b${d % 20}`, ts: liveTs, fields: { energy: 1e6 + liveTs / MIN, power: 500 } });
    }
    liveTs += MIN;
    const t0 = performance.now();
    await db.telemetry.write(batch);
    return performance.now() - t0;
  };
  const phase = async (during?: Promise<unknown>): Promise<Float64Array> => {
    const out: number[] = [];
    let done = false;
    void during?.then(() => { done = true; });
    // Alone: --live batches; beside the pass: exactly the batches that overlap it.
    while (during ? !done : out.length < liveBatches) out.push(await live());
    return Float64Array.from(out).sort();
  };
  const baseline = await phase();
  const passStarted = performance.now();
  let pass: { deleted: number } = { deleted: 0 };
  const running = db.retention.runOnce().then((p) => { pass = p; });
  const during = await phase(running);
  const passS = (performance.now() - passStarted) / 1000;
  await db.close();
  const fmt = (xs: Float64Array) => `p50 ${percentile(xs, 50).toFixed(1)} ms, p99 ${percentile(xs, 99).toFixed(1)} ms, max ${(xs[xs.length - 1] ?? 0).toFixed(1)} ms (${xs.length} batches of ${devices})`;
  console.log(`ingest baseline: ${fmt(baseline)}`);
  console.log(`ingest while retention deletes ${pass.deleted.toLocaleString('en')} rows in ${passS.toFixed(1)} s: ${fmt(during)}`);
  console.log(`data dir after the pass: ${((await directoryBytes(liveDir)) / MiB).toFixed(1)} MiB (DuckDB reuses freed blocks; the file does not shrink)`);
} finally {
  await rm(work, { recursive: true, force: true });
}
