import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import type { Reading } from '../../core/index.js';
import { dailyConsumption, type MeterRef } from '../../reports/consumption.js';
import { createEmbeddedDatabase, type EmbeddedDatabase } from '../../storage/index.js';

const HOUR = 3_600_000;
const DAY = 24 * HOUR;
const STEP = 15 * 60_000;
// Midday UTC, so the period's edge falls inside an hour (the floor is that hour's start).
const NOW = Date.UTC(2026, 5, 1, 12, 20);
const RAW_DAYS = 30;
const zone = 'Asia/Shanghai';

const dirs: string[] = [];
const dbs: EmbeddedDatabase[] = [];
afterEach(async () => {
  await Promise.all(dbs.splice(0).map((d) => d.close()));
  await Promise.all(dirs.splice(0).map((d) => rm(d, { recursive: true, force: true })));
});

async function open(dir: string, now: () => number, folded?: number[]): Promise<EmbeddedDatabase> {
  const db = await createEmbeddedDatabase(
    { dataDir: dir, memoryLimit: '128MB', threads: 1, retention: { rawDays: RAW_DAYS, sliceMs: 2 * DAY } },
    { logger: pino({ level: 'silent' }), now, ...(folded ? { onFolded: (n: number) => folded.push(n) } : {}) },
  );
  dbs.push(db);
  return db;
}

/** A meter every 15 minutes for 60 days before NOW: energy climbs 0.25 kWh a read, power varies by hour. */
function history(device: string): Reading[] {
  const out: Reading[] = [];
  const start = NOW - 60 * DAY;
  for (let ts = start, i = 0; ts < NOW; ts += STEP, i++) {
    out.push({
      device, kind: 'power_meter', site: 's1', building: 'b1', ts,
      fields: { energy: 1000 + i * 0.25, power: 500 + ((i * 37) % 1000) },
    });
  }
  return out;
}

const meters: MeterRef[] = ['m1', 'm2'].map((device) => ({ device, kind: 'power_meter', building: 'b1', purpose: 'household' }) as MeterRef);

async function report(db: EmbeddedDatabase, firstDate: string, lastDate: string) {
  const [out] = await dailyConsumption(db.telemetry, meters, { site: 's1', timezone: zone, maxGapMs: 6 * HOUR }, [{ firstDate, lastDate }]);
  return out;
}

async function rawCount(db: EmbeddedDatabase, from: number, to: number): Promise<number> {
  const points = await db.telemetry.series({ kind: 'power_meter', from, to, fields: ['power'] });
  return points.length;
}

describe('embedded store retention and hourly aggregates', () => {
  it('deletes exactly the raw readings past the period; reports, daily rollups and hourly aggregates stay', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'anju-retention-'));
    dirs.push(dir);
    let now = NOW - 45 * DAY; // while the history is written, nothing of it is past the period
    const folded: number[] = [];
    const db = await open(dir, () => now, folded);
    const all = [...history('m1'), ...history('m2')].sort((a, b) => a.ts - b.ts);
    for (let i = 0; i < all.length; i += 1_000) {
      now = Math.max(now, (all[Math.min(i + 999, all.length - 1)] as Reading).ts);
      await db.telemetry.write(all.slice(i, i + 1_000));
    }
    now = NOW;

    const floor = db.retention.floorAt(NOW);
    expect(floor).toBe(Date.UTC(2026, 4, 2, 12, 0));
    const expectedGone = all.filter((r) => r.ts < floor).length;
    const expectedKept = all.filter((r) => r.ts >= floor).length;
    expect(expectedGone).toBeGreaterThan(5_000);

    const inside = { first: '2026-05-10', last: '2026-05-30' };
    const before = { first: '2026-04-05', last: '2026-04-25' };
    const reportInsideBefore = await report(db, inside.first, inside.last);
    const reportOldBefore = await report(db, before.first, before.last);
    const hourlyQuery = { kind: 'power_meter' as const, from: NOW - 60 * DAY - 20 * 60_000 - 12 * HOUR, to: NOW + 40 * 60_000, every: HOUR, fields: ['power', 'energy'] };
    const aligned = { ...hourlyQuery, from: Math.floor(hourlyQuery.from / HOUR) * HOUR, to: Math.ceil(hourlyQuery.to / HOUR) * HOUR };
    const maxBefore = await db.telemetry.series({ ...aligned, agg: 'max' });
    const countBefore = await db.telemetry.series({ ...aligned, agg: 'count' });
    const dailyMeanBefore = await db.telemetry.series({ ...aligned, every: DAY, agg: 'mean', fields: ['power'] });

    // Hourly aggregates, hand-checked against the written readings for one hour of m1.
    const hour = floor - 5 * DAY;
    const inHour = all.filter((r) => r.device === 'm1' && r.ts >= hour && r.ts < hour + HOUR);
    const m1 = (ps: typeof maxBefore) => ps.find((p) => p.device === 'm1' && p.ts === hour);
    expect(m1(maxBefore)?.values.power).toBe(Math.max(...inHour.map((r) => r.fields.power as number)));
    expect(m1(countBefore)?.values.power).toBe(4);
    expect(m1(await db.telemetry.series({ ...aligned, agg: 'last' }))?.values.energy).toBe(inHour[3]?.fields.energy);
    expect(m1(await db.telemetry.series({ ...aligned, agg: 'first' }))?.values.energy).toBe(inHour[0]?.fields.energy);

    const pass = await db.retention.runOnce();
    expect(pass).toMatchObject({ floor, deleted: expectedGone });
    expect(db.retention.deletedTotal()).toBe(expectedGone);
    expect(await rawCount(db, 0, floor)).toBe(0);
    expect(await rawCount(db, floor, NOW + HOUR)).toBe(expectedKept);
    // A second pass at the same time finds nothing more.
    expect((await db.retention.runOnce()).deleted).toBe(0);

    // Reports over the retained period match; so does one before the floor (daily register rollups are kept).
    expect(await report(db, inside.first, inside.last)).toEqual(reportInsideBefore);
    expect(await report(db, before.first, before.last)).toEqual(reportOldBefore);
    expect(reportOldBefore?.[0]?.total).toBeGreaterThan(0);
    // Charts over the whole range answer from the hourly aggregates, the same as before.
    expect(await db.telemetry.series({ ...aligned, agg: 'max' })).toEqual(maxBefore);
    expect(await db.telemetry.series({ ...aligned, agg: 'count' })).toEqual(countBefore);
    expect(await db.telemetry.series({ ...aligned, every: DAY, agg: 'mean', fields: ['power'] })).toEqual(dailyMeanBefore);
    // An unaligned window reaching before the floor also reads the hours.
    const unaligned = await db.telemetry.series({ ...hourlyQuery, agg: 'max' });
    expect(unaligned.filter((p) => p.ts < floor).length).toBeGreaterThan(0);
    // Nothing in those answers is missing, so none says so; raw readings and sub-hour buckets before the floor do.
    expect(db.telemetry.completeFrom?.({ ...hourlyQuery, agg: 'max' })).toBeUndefined();
    expect(db.telemetry.completeFrom?.({ ...aligned, every: DAY, agg: 'mean' })).toBeUndefined();
    expect(db.telemetry.completeFrom?.({ kind: 'power_meter', device: 'm1', from: floor - DAY, to: NOW })).toBe(floor);
    expect(db.telemetry.completeFrom?.({ kind: 'power_meter', device: 'm1', from: floor - DAY, to: floor - HOUR })).toBe(floor - HOUR);
    expect(db.telemetry.completeFrom?.({ kind: 'power_meter', device: 'm1', from: floor - DAY, to: NOW, every: 15 * 60_000, agg: 'mean' })).toBe(floor);
    expect(db.telemetry.completeFrom?.({ kind: 'power_meter', device: 'm1', from: floor, to: NOW })).toBeUndefined();

    // A late reading older than the floor is folded into its hour, not kept raw; the day's rollup stands.
    await db.telemetry.write([{ device: 'm1', kind: 'power_meter', site: 's1', building: 'b1', ts: hour + 7 * 60_000, fields: { power: 99_999, energy: 1 } }]);
    expect(folded).toEqual([1]);
    expect(await rawCount(db, 0, floor)).toBe(0);
    expect(m1(await db.telemetry.series({ ...aligned, agg: 'count' }))?.values.power).toBe(5);
    expect(m1(await db.telemetry.series({ ...aligned, agg: 'max' }))?.values.power).toBe(99_999);
    expect(await report(db, before.first, before.last)).toEqual(reportOldBefore);
    expect(await report(db, inside.first, inside.last)).toEqual(reportInsideBefore);

    // A reading inside the period is stored raw and updates its hour, as always.
    await db.telemetry.write([{ device: 'm2', kind: 'power_meter', site: 's1', building: 'b1', ts: NOW + 60_000, fields: { power: 1, energy: 2_000 } }]);
    expect(await rawCount(db, floor, NOW + HOUR)).toBe(expectedKept + 1);
    expect(await db.hourlyRows()).toBe(2 * 60 * 24 + 2);
  }, 120_000);

  it('a rebuild of the daily rollups in another zone (the site\'s zone changed) keeps the days it cannot make again', async () => {
    // Found in review: a report over a range reaching before the raw floor, after a site's zone changed,
    // rebuilt the range — deleting every day's row, and making again only those with raw readings left.
    // The days before the floor (a savings report's baseline year) were erased for good.
    const dir = await mkdtemp(join(tmpdir(), 'anju-retention-'));
    dirs.push(dir);
    let now = NOW - 45 * DAY;
    const db = await open(dir, () => now);
    const all = history('m1');
    for (let i = 0; i < all.length; i += 1_000) {
      now = Math.max(now, (all[Math.min(i + 999, all.length - 1)] as Reading).ts);
      await db.telemetry.write(all.slice(i, i + 1_000));
    }
    now = NOW;
    await db.retention.runOnce();
    const rollups = db.telemetry.rollups!;
    const range = { site: 's1', kind: 'power_meter' as const, field: 'energy', fromDate: '2026-04-20', toDate: '2026-05-20' };
    const before = await rollups.days(range);
    expect(before.every((r) => r.timezone === zone)).toBe(true);
    expect(before.map((r) => r.date)).toContain('2026-04-25');
    await rollups.rebuild({ ...range, timezone: 'UTC' });
    const after = await rollups.days(range);
    // Before the floor (2026-05-02 12:00 UTC): as they were, in the zone they were made in.
    const kept = after.filter((r) => r.date < '2026-05-02');
    expect(kept).toEqual(before.filter((r) => r.date < '2026-05-02'));
    expect(kept.length).toBeGreaterThan(10);
    // From the first whole UTC day after it: made again in UTC, from the raw readings.
    const remade = after.filter((r) => r.date >= '2026-05-03');
    expect(remade.length).toBe(18);
    expect(remade.every((r) => r.timezone === 'UTC' && r.reads === 96)).toBe(true);
  });

  it('keeps raw readings forever with 0 days, and a background pass runs on start', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'anju-retention-'));
    dirs.push(dir);
    const forever = await createEmbeddedDatabase({ dataDir: dir, memoryLimit: '128MB', threads: 1, retention: { rawDays: 0 } },
      { logger: pino({ level: 'silent' }), now: () => NOW });
    const rows = history('m1').slice(0, 200);
    await forever.telemetry.write(rows);
    expect(forever.retention.floorAt(NOW)).toBe(0);
    expect(forever.telemetry.completeFrom?.({ kind: 'power_meter', device: 'm1', from: 0, to: NOW })).toBeUndefined();
    expect((await forever.retention.runOnce()).deleted).toBe(0);
    expect(await rawCount(forever, 0, NOW)).toBe(200);
    await forever.close();

    // Reopened with retention: the started job deletes them in the background.
    const db = await open(dir, () => NOW);
    db.retention.start();
    // The count moves once the whole pass is done, after its last slice committed.
    await expect.poll(() => db.retention.deletedTotal(), { timeout: 30_000 }).toBe(200);
    expect(await rawCount(db, 0, NOW)).toBe(0);
    // 12:20, 12:35, 12:50 in the first hour, then four an hour: 1 + ceil(197 / 4) hours.
    expect(await db.hourlyRows()).toBe(51);
  }, 60_000);

  it('stops at the next slice of the pass it is in, not an interval later; the next start carries on', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'anju-retention-'));
    dirs.push(dir);
    const forever = await createEmbeddedDatabase({ dataDir: dir, memoryLimit: '128MB', threads: 1, retention: { rawDays: 0 } },
      { logger: pino({ level: 'silent' }), now: () => NOW });
    await forever.telemetry.write(history('m1').slice(0, 200));
    await forever.close();

    const db = await open(dir, () => NOW);
    // Stopped while its first pass runs: the pass ends at its next slice (each slice commits whole) and
    // stop() returns — neither a pass of months of backlog nor the hour's sleep after it keeps a
    // shutdown waiting. What it did not reach stays for the next start.
    db.retention.start();
    await db.retention.stop();
    // Stopped before its first slice: nothing deleted yet (a pass that ran to its end deleted all 200).
    expect(db.retention.deletedTotal()).toBe(0);
    expect(await rawCount(db, 0, NOW)).toBe(200);
    await db.close();
    dbs.splice(dbs.indexOf(db), 1);
    const again = await open(dir, () => NOW);
    await again.retention.runOnce();
    expect(await rawCount(again, 0, NOW)).toBe(0);
  }, 30_000);

  it('whole-hour buckets from the hourly aggregates answer exactly what the raw readings answer, for every aggregate', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'anju-retention-'));
    dirs.push(dir);
    const db = await open(dir, () => NOW);
    const T = NOW - 3 * DAY - (NOW % HOUR);
    const rows: Reading[] = [];
    // Irregular times, some fields missing, a boolean, rewrites of the same (device, ts) in a later batch.
    for (let i = 0; i < 400; i++) {
      const device = `sd-${i % 3}`;
      const ts = T + Math.floor(((i * 7919) % 997) / 997 * 30 * HOUR);
      const fields: Record<string, number | boolean> = { smoke: ((i * 31) % 17) / 10 };
      if (i % 4 !== 0) fields.temperature = 20 + ((i * 13) % 11) / 3;
      if (i % 5 === 0) fields.alarm = i % 10 === 0;
      rows.push({ device, kind: 'smoke_detector', site: 's1', building: i % 2 ? 'b1' : 'b2', ts, fields });
    }
    await db.telemetry.write(rows.slice(0, 250));
    await db.telemetry.write(rows.slice(150).map((r) => ({ ...r, fields: { ...r.fields, smoke: (r.fields.smoke as number) + 1 } })));
    for (const agg of ['mean', 'min', 'max', 'sum', 'count', 'first', 'last'] as const) {
      for (const every of [HOUR, 6 * HOUR]) {
        const q = { kind: 'smoke_detector' as const, from: T, to: T + 2 * DAY, every, agg, fields: ['smoke', 'temperature', 'alarm'] };
        const hourly = await db.telemetry.series(q);
        // One ms earlier is not on the hour: the raw readings answer (no reading is in that ms).
        const raw = await db.telemetry.series({ ...q, from: T - 1 });
        expect(hourly.length).toBeGreaterThan(10);
        expect(hourly.map((p) => [p.ts, p.device])).toEqual(raw.map((p) => [p.ts, p.device]));
        hourly.forEach((p, i) => {
          for (const [f, v] of Object.entries(p.values)) {
            const want = raw[i]?.values[f];
            if (typeof v === 'number' && typeof want === 'number') expect(v, `${agg} ${f}`).toBeCloseTo(want, 9);
            else expect(v, `${agg} ${f}`).toEqual(want);
          }
        });
        const building = await db.telemetry.series({ ...q, building: 'b1' });
        expect(building.length).toBeGreaterThan(0);
      }
    }
  }, 60_000);
});
