/**
 * `npm run bench:backup`: what a year of the demo community costs on disk in the embedded DuckDB,
 * and how long a backup and a restore of it take, beside a same-run baseline.
 *   1. backfill (devices-sim runBackfill, seed 2026) every device of the demo community (Chundu) at
 *      --step-min (default 15) over --days (default 365) into a fresh DuckDB in a temp dir;
 *   2. bytes per reading: the database file after a CHECKPOINT (close), divided by the readings;
 *      and compacted (every table copied into a fresh file, as a backup holds it), with and
 *      without the daily register rollups (a DROP does not shrink a DuckDB file, so the second
 *      copy simply leaves `register_days` empty);
 *   3. backup: takeBackup of the open database (its COPY FROM DATABASE snapshot and the spool) —
 *      beside the baseline, a plain file copy (fs.copyFile) of the same closed database file;
 *      restore: restoreBackup (verify every SHA-256, copy, rename) and the first open after it.
 * A 2,000-device community at one reading a minute is projected from the measured bytes per
 * reading (a projection, not a measurement: DuckDB compresses per column and row group, and
 * minute data compresses differently from 15-minute data).
 * Options: --days N (365), --step-min N (15), --runs N (3; medians), --batch N (20,000).
 */
import { copyFile, mkdtemp, rm, stat } from 'node:fs/promises';
import { cpus, loadavg, tmpdir, totalmem } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { DuckDBInstance } from '@duckdb/node-api';
import pino from 'pino';
import { chunduCommunity } from '../../core/index.js';
import { runBackfill } from '../../devices-sim/index.js';
import { latestSchemaVersion } from '../../storage/embedded/schema.js';
import { createEmbeddedDatabase, restoreBackup, takeBackup } from '../../storage/index.js';
import { median } from '../common/stats.js';

const { values } = parseArgs({ options: {
  days: { type: 'string', default: '365' }, 'step-min': { type: 'string', default: '15' },
  runs: { type: 'string', default: '3' }, batch: { type: 'string', default: '20000' },
} });
const days = Number(values.days);
const stepMs = Number(values['step-min']) * 60_000;
const runs = Number(values.runs);
const logger = pino({ level: 'silent' });
const MiB = 1024 * 1024;
const dbConfig = (dataDir: string) => ({ dataDir, memoryLimit: '1GB', threads: 2 });

const work = await mkdtemp(join(tmpdir(), 'anju-bench-backup-'));
try {
  const dataDir = join(work, 'data');
  const community = chunduCommunity();
  const devices = community.devices.map((d) => ({ ...d, name: d.name ?? d.id, createdAt: 0 }));
  let db = await createEmbeddedDatabase(dbConfig(dataDir), { logger });
  const b = await runBackfill({ days, stepMs, seed: 2026, batchSize: Number(values.batch) }, { store: db.telemetry, devices, logger });
  await db.close();
  const file = join(dataDir, 'anju.duckdb');
  const bytes = (await stat(file)).size;

  // Compacted copies of the file: every table, and every table but the rollups (left empty).
  const compacted = async (name: string, skip: string[]): Promise<{ bytes: number; rollupRows: number }> => {
    const inst = await DuckDBInstance.create(file);
    const c = await inst.connect();
    const target = join(work, name);
    await c.run(`ATTACH '${target}' AS dst`);
    await c.run('COPY FROM DATABASE anju TO dst (SCHEMA)');
    const tables = (await c.runAndReadAll(`SELECT table_name FROM duckdb_tables() WHERE database_name = 'anju'`)).getRowObjects().map((r) => String(r.table_name));
    for (const t of tables.filter((x) => !skip.includes(x))) await c.run(`INSERT INTO dst."${t}" SELECT * FROM anju."${t}"`);
    const rollupRows = Number((await c.runAndReadAll('SELECT count(*) AS n FROM anju.register_days')).getRowObjects()[0]?.n);
    await c.run('DETACH dst');
    c.closeSync();
    inst.closeSync();
    return { bytes: (await stat(target)).size, rollupRows };
  };
  const all = await compacted('compact-all.duckdb', []);
  const raw = await compacted('compact-raw.duckdb', ['register_days']);

  const copyMs: number[] = [];
  const backupMs: number[] = [];
  const restoreMs: number[] = [];
  const openMs: number[] = [];
  let backupBytes = 0;
  db = await createEmbeddedDatabase(dbConfig(dataDir), { logger });
  for (let i = 0; i < runs; i++) {
    const copyTarget = join(work, `copy-${i}.duckdb`);
    let t = performance.now();
    await copyFile(file, copyTarget);
    copyMs.push(performance.now() - t);
    await rm(copyTarget);

    const target = join(work, `backup-${i}`);
    t = performance.now();
    const manifest = await takeBackup({ dataDir, snapshot: (f) => db.snapshot(f) }, target);
    backupMs.push(performance.now() - t);
    backupBytes = manifest.files.reduce((n, f) => n + f.bytes, 0);

    const restored = join(work, `restored-${i}`);
    t = performance.now();
    await restoreBackup(target, restored, { knownSchemaVersion: latestSchemaVersion });
    restoreMs.push(performance.now() - t);
    t = performance.now();
    const db2 = await createEmbeddedDatabase(dbConfig(restored), { logger });
    openMs.push(performance.now() - t);
    await db2.close();
    await rm(target, { recursive: true });
    await rm(restored, { recursive: true });
  }
  await db.close();

  const perReading = bytes / b.readings;
  const perReadingRaw = raw.bytes / b.readings;
  const year2000 = 2_000 * 525_600;
  console.log(`machine: ${cpus().length} × ${cpus()[0]?.model ?? '?'}, ${(totalmem() / 1024 ** 3).toFixed(1)} GiB, load ${loadavg().map((l) => l.toFixed(2)).join(' ')}`);
  console.log(`demo community: ${devices.length} devices, ${days} days at ${stepMs / 60_000} min → ${b.readings.toLocaleString('en')} readings (backfill ${(b.ms / 1000).toFixed(1)} s)`);
  console.log(`DuckDB file as it runs: ${(bytes / MiB).toFixed(1)} MiB → ${perReading.toFixed(1)} bytes/reading`);
  console.log(`compacted (every table copied to a fresh file): ${(all.bytes / MiB).toFixed(1)} MiB (${(all.bytes / b.readings).toFixed(1)} bytes/reading); without the ${all.rollupRows.toLocaleString('en')} daily rollup rows ${(raw.bytes / MiB).toFixed(1)} MiB (${perReadingRaw.toFixed(1)} bytes/reading): the rollups take ${((all.bytes - raw.bytes) / MiB).toFixed(2)} MiB`);
  console.log(`projection, 2,000 devices at 1 reading/min for a year (${(year2000 / 1e9).toFixed(2)} billion readings): ${(year2000 * perReadingRaw / 1024 ** 3).toFixed(0)} GiB of raw readings at this bytes/reading`);
  console.log(`backup (takeBackup: spool + COPY FROM DATABASE), median of ${runs}: ${(median(backupMs) / 1000).toFixed(2)} s, ${(backupBytes / MiB).toFixed(1)} MiB`);
  console.log(`  baseline, same run: fs.copyFile of the closed file: ${(median(copyMs) / 1000).toFixed(2)} s`);
  console.log(`restore (verify SHA-256, copy, rename): ${(median(restoreMs) / 1000).toFixed(2)} s; first open after it: ${(median(openMs) / 1000).toFixed(2)} s`);
} finally {
  await rm(work, { recursive: true, force: true });
}
