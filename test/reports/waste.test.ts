import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { BinCategory, Device, Reading } from '../../core/index.js';
import { createReports, type WasteCategoryStats } from '../../reports/index.js';
import { localMidnight } from '../../reports/time.js';
import { createEmbeddedDatabase, type EmbeddedDatabase } from '../../storage/index.js';

/**
 * Waste report on hand-built fill series in a real DuckDB store. Period 2026-03-02…03-03 (+08:00),
 * previous period 2026-02-28…03-01. P = local midnight starting the period; hours from P.
 *
 * rec (recyclable, weighs): 20, 50, 92, 95, 10, 40, 60, 25 at h0…h7 (weights = fill/2 kg)
 *   → collections at 95 (−85 pts, 42.5 kg) and 60 (−35 pts, 17.5 kg); overflow 1 incident (50→92),
 *     2 h (h2→h3, h3→h4).
 * kit (kitchen, weighs): 80 h0, 91 h1, 30 h5, 35 h6, 85 h46, 96 h47, 97 h49 (after the period end)
 *   → 1 collection at 91 (−61 pts, 30.5 kg); 2 incidents (80→91, 85→96); overflow h1→h5 capped at
 *     2 h, plus h47→h48 (the period end) 1 h = 3 h.
 * res (residual, no load cell): 70 h0, 20 h3 → 1 collection at 70 (−50 pts).
 * Previous period: rec 80 → 10 (collection at 80); kit 95, 94, 60 (first read already full:
 *   1 incident; 2 h overflowing; collection at 94).
 */
const logger = pino({ level: 'silent' });
const TZ = 'Asia/Shanghai';
const H = 3_600_000;
const P = localMidnight('2026-03-02', TZ);
const bin = (id: string, category: BinCategory): Device => ({ id, kind: 'smart_bin', site: 's1', building: 'b1', name: id, category, createdAt: 0 });
const rec = bin('rec', 'recyclable');
const kit = bin('kit', 'kitchen');
const res = bin('res', 'residual');

function series(b: Device, points: readonly [hour: number, fill: number][], weighs: boolean): Reading[] {
  return points.map(([h, fill]): Reading => {
    const fields: Record<string, number> = weighs ? { fill, weight: fill / 2 } : { fill };
    return { device: b.id, kind: 'smart_bin', site: 's1', building: 'b1', category: b.category as BinCategory, ts: P + h * H, fields };
  });
}

const readings: Reading[] = [
  ...series(rec, [[-40, 80], [-39, 10], [0, 20], [1, 50], [2, 92], [3, 95], [4, 10], [5, 40], [6, 60], [7, 25]], true),
  ...series(kit, [[-30, 95], [-29, 94], [-28, 60], [0, 80], [1, 91], [5, 30], [6, 35], [46, 85], [47, 96], [49, 97]], true),
  ...series(res, [[0, 70], [3, 20]], false),
];

describe('waste report (hand-computed, embedded DuckDB)', () => {
  let dir: string;
  let db: EmbeddedDatabase;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'anju-waste-'));
    db = await createEmbeddedDatabase({ dataDir: dir, memoryLimit: '256MB', threads: 2 }, { logger });
    await db.telemetry.write(readings);
  }, 60_000);
  afterAll(async () => {
    await db?.close();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  const report = (devices: Device[]) => createReports({}, { store: db.telemetry, alarms: {} as never, devices: { list: () => devices },
    clock: () => P + 72 * H })
    .waste({ site: 's1', from: '2026-03-02', to: '2026-03-04' });
  const cat = (cats: readonly WasteCategoryStats[], c: BinCategory) => cats.find((x) => x.category === c) as WasteCategoryStats;

  it('detects emptyings, fill at collection, overflow incidents and hours (capped, clipped at the period end)', async () => {
    const r = await report([rec, kit]);
    expect(r.period).toMatchObject({ from: P, to: P + 48 * H, days: 2 });
    expect(r.previousPeriod).toMatchObject({ from: P - 48 * H, to: P, firstDate: '2026-02-28', lastDate: '2026-03-01' });
    expect(r.bins).toEqual([
      { device: 'rec', category: 'recyclable', building: 'b1', collections: 2, overflowIncidents: 1, overflowHours: 2 },
      { device: 'kit', category: 'kitchen', building: 'b1', collections: 1, overflowIncidents: 2, overflowHours: 3 },
    ]);
    expect(cat(r.categories, 'recyclable')).toMatchObject({ bins: 1, collections: 2, avgFillAtCollection: 77.5, weightKg: 60, volumePct: 120 });
    expect(cat(r.categories, 'kitchen')).toMatchObject({ bins: 1, collections: 1, avgFillAtCollection: 91, weightKg: 30.5, volumePct: 61 });
    expect(cat(r.categories, 'hazardous')).toMatchObject({ bins: 0, collections: 0, avgFillAtCollection: null, share: 0 });
    expect(r.totals).toEqual({ collections: 3, overflowIncidents: 3, overflowHours: 5, weightKg: 90.5 });
  });

  it('shares by weight when every reporting bin weighs', async () => {
    const r = await report([rec, kit]);
    expect(r.shareBasis).toBe('weight');
    expect(cat(r.categories, 'recyclable').share).toBeCloseTo(60 / 90.5, 10);
    expect(cat(r.categories, 'kitchen').share).toBeCloseTo(30.5 / 90.5, 10);
  });

  it('shares by volume (fill points emptied) when a bin has no load cell', async () => {
    const r = await report([rec, kit, res]);
    expect(r.shareBasis).toBe('volume');
    expect(cat(r.categories, 'residual')).toMatchObject({ collections: 1, avgFillAtCollection: 70, weightKg: null, volumePct: 50 });
    expect(cat(r.categories, 'recyclable').share).toBeCloseTo(120 / 231, 10);
    expect(cat(r.categories, 'kitchen').share).toBeCloseTo(61 / 231, 10);
    expect(cat(r.categories, 'residual').share).toBeCloseTo(50 / 231, 10);
  });

  it('compares with the previous period', async () => {
    const r = await report([rec, kit]);
    expect(cat(r.previousCategories, 'recyclable')).toMatchObject({ collections: 1, avgFillAtCollection: 80, overflowIncidents: 0, overflowHours: 0 });
    expect(cat(r.previousCategories, 'kitchen')).toMatchObject({ collections: 1, avgFillAtCollection: 94, overflowIncidents: 1, overflowHours: 2 });
    expect(r.trend.collections).toEqual({ current: 3, previous: 2, change: 0.5 });
    expect(r.trend.overflowIncidents).toEqual({ current: 3, previous: 1, change: 2 });
    expect(r.trend.overflowHours).toEqual({ current: 5, previous: 2, change: 1.5 });
    // (95 + 60 + 91) / 3 = 82 against (80 + 94) / 2 = 87.
    expect(r.trend.avgFillAtCollection.current).toBe(82);
    expect(r.trend.avgFillAtCollection.previous).toBe(87);
    expect(r.trend.avgFillAtCollection.change).toBeCloseTo(-5 / 87, 10);
  });
});
