/**
 * Measures the backfill rate into the embedded DuckDB store (not a test: run it by hand).
 *   npx tsx test/devices-sim/backfill-rate.ts [days=400] [detectorStep=15m|hourly]
 * The demo community (Chundu), 15-minute steps, the three retrofit presets.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { parseRetrofits, runBackfill } from '../../devices-sim/index.js';
import { createEmbeddedDatabase } from '../../storage/index.js';
import { demoDevices } from './helpers.js';

const days = Number(process.argv[2] ?? 400);
const hourlyDetectors = process.argv[3] === 'hourly';
const dir = await mkdtemp(join(tmpdir(), 'anju-backfill-rate-'));
const db = await createEmbeddedDatabase({ dataDir: dir, memoryLimit: '512MB', threads: 2 }, { logger: pino({ level: 'silent' }) });
const started = performance.now();
let reported = 0;
try {
  const result = await runBackfill({
    days, end: Date.UTC(2026, 5, 1), seed: 1,
    retrofits: parseRetrofits('led:2026-03-01,vfd:2026-03-01,lowflow:2026-04-01'),
    ...(hourlyDetectors ? { kindStepMs: { smoke_detector: 3_600_000 } } : {}),
  }, {
    store: db.telemetry, devices: demoDevices(), logger: pino({ level: 'silent' }),
    onProgress: (done, total) => {
      if (done - reported < 250_000 && done < total) return;
      reported = done;
      console.log(`${done}/${total} ${Math.round((performance.now() - started) / 1000)} s`);
    },
  });
  console.log({ ...result, rssMB: Math.round(process.memoryUsage().rss / 1e6) });
} finally {
  await db.close();
  await rm(dir, { recursive: true, force: true });
}
