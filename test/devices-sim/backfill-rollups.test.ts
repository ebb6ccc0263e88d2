import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { afterAll, describe, expect, it } from 'vitest';
import { runBackfill } from '../../devices-sim/index.js';
import { rowsFromReads } from '../../reports/consumption.js';
import { createEmbeddedDatabase, createInfluxStore, type TelemetryStore } from '../../storage/index.js';
import type { RegisterDay } from '../../storage/rollups/contract.js';
import { influxdAvailability, startInfluxd, type Influxd } from '../helpers/influxd.js';
import { DAY, demoDevices } from './helpers.js';

/**
 * `anju sim backfill` leaves the stores' daily register rollups exact: after a backfill, and after
 * a second one with other data over days that already hold readings (the late and backfilled case),
 * every meter's rows equal a summary made from scratch of the readings the store holds.
 */
const logger = pino({ level: 'silent' });
const END = Date.UTC(2026, 2, 30, 16); // 2026-03-31 00:00 +08:00
const TZ = 'Asia/Shanghai';

async function fromScratch(store: TelemetryStore, from: number, to: number): Promise<RegisterDay[]> {
  const out: RegisterDay[] = [];
  for (const d of demoDevices().filter((x) => x.kind === 'power_meter' || x.kind === 'water_meter')) {
    const field = d.kind === 'power_meter' ? 'energy' : 'volume';
    const points = await store.series({ kind: d.kind, device: d.id, from, to, fields: [field] });
    const reads = points.flatMap((p) => (typeof p.values[field] === 'number' ? [{ ts: p.ts, value: p.values[field] as number }] : []));
    out.push(...rowsFromReads(reads, { device: d.id, kind: d.kind, site: d.site, building: d.building, field, timezone: TZ }));
  }
  return out;
}

async function rolledUp(store: TelemetryStore): Promise<RegisterDay[]> {
  const rows: RegisterDay[] = [];
  for (const [kind, field] of [['power_meter', 'energy'], ['water_meter', 'volume']] as const) {
    rows.push(...await (store.rollups as NonNullable<TelemetryStore['rollups']>).days({ site: 'chundu', kind, field, fromDate: '2026-03-01', toDate: '2026-04-01' }));
  }
  return rows;
}

const key = (r: RegisterDay) => `${r.device}|${r.date}`;
const norm = (rows: readonly RegisterDay[]) => [...rows].sort((a, b) => (key(a) < key(b) ? -1 : 1)).map((r) => ({ ...r,
  advance: Math.round(r.advance * 1e6) / 1e6 }));

async function check(store: TelemetryStore): Promise<void> {
  const devices = demoDevices().filter((d) => d.kind === 'power_meter' || d.kind === 'water_meter');
  const first = await runBackfill({ days: 10, end: END, seed: 11 }, { store, devices, logger });
  expect(norm(await rolledUp(store))).toEqual(norm(await fromScratch(store, first.from, first.to)));
  // Another history over the last 4 days, with other values (another seed) at half-hour offsets too:
  // days with rows get readings before, between and after theirs.
  await runBackfill({ days: 4, end: END, stepMs: 30 * 60_000, seed: 99 }, { store, devices, logger });
  await runBackfill({ days: 4, end: END - 7 * 60_000, stepMs: 30 * 60_000, seed: 98 }, { store, devices, logger });
  const after = norm(await rolledUp(store));
  expect(after).toEqual(norm(await fromScratch(store, first.from - DAY, first.to)));
  expect(after.length).toBe(devices.length * 10);
}

describe('backfill keeps the daily register rollups exact', () => {
  let dir: string | undefined;
  let server: Influxd | undefined;
  afterAll(async () => {
    if (dir) await rm(dir, { recursive: true, force: true });
    await server?.cleanup();
  });

  it('on the embedded DuckDB store', async () => {
    dir = await mkdtemp(join(tmpdir(), 'anju-backfill-rollups-'));
    const db = await createEmbeddedDatabase({ dataDir: dir, memoryLimit: '256MB', threads: 2 }, { logger });
    try {
      await check(db.telemetry);
    } finally {
      await db.close();
    }
  }, 120_000);

  const influx = influxdAvailability();
  it.skipIf(!influx.path)(`on InfluxDB${influx.skip ? ` (skipped: ${influx.skip})` : ''}`, async () => {
    server = await startInfluxd({ database: 'anju' });
    const store = createInfluxStore({ url: server.url, db: 'anju' }, { logger });
    try {
      await check(store);
    } finally {
      await store.close();
    }
  }, 120_000);
});
