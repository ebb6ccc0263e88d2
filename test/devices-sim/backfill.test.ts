import { createHash } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { kindNames, kinds, type Device } from '../../core/index.js';
import { parseRetrofits, runBackfill, type BackfillConfig } from '../../devices-sim/index.js';
import { createEmbeddedDatabase, createInfluxStore, type TelemetryStore } from '../../storage/index.js';
import { influxdAvailability, startInfluxd, type Influxd } from '../helpers/influxd.js';
import { DAY, demoDevices } from './helpers.js';

const logger = pino({ level: 'silent' });
/** 2026-03-31 00:00 +08:00: 30 days before and after a retrofit on 2026-03-01. */
const END = Date.UTC(2026, 2, 30, 16);
const RETROFIT_AT = Date.UTC(2026, 1, 28, 16);

/** A store that keeps a digest of everything written and the cumulative registers, for the checks. */
function memoryStore() {
  const hash = createHash('sha256');
  const registers = new Map<string, Array<[number, number]>>();
  const batches: number[] = [];
  let count = 0;
  const store: TelemetryStore = {
    name: 'memory',
    async write(batch) {
      batches.push(batch.length);
      count += batch.length;
      hash.update(JSON.stringify(batch));
      for (const r of batch) {
        const field = kinds[r.kind].cumulative[0];
        if (field === undefined) continue;
        const list = registers.get(r.device) ?? [];
        list.push([r.ts, r.fields[field] as number]);
        registers.set(r.device, list);
      }
    },
    latest: async () => undefined,
    latestAll: async () => [],
    series: async () => [],
    close: async () => undefined,
  };
  let digest: string | undefined;
  return { store, registers, batches, digest: () => (digest ??= hash.digest('hex')), count: () => count };
}

/** Register growth of a device over [from, to): last reading before `to` minus the first at or after `from`. */
function used(points: ReadonlyArray<readonly [number, number]>, from: number, to: number): number {
  const inside = points.filter(([ts]) => ts >= from && ts < to);
  return (inside.at(-1)?.[1] ?? 0) - (inside[0]?.[1] ?? 0);
}

const sum = (devices: readonly Device[], f: (d: Device) => number) => devices.reduce((s, d) => s + f(d), 0);

async function backfillToMemory(config: Partial<BackfillConfig>, devices = demoDevices()) {
  const mem = memoryStore();
  const progress: Array<[number, number]> = [];
  const result = await runBackfill({ days: 60, end: END, seed: 11, ...config }, { store: mem.store, devices, logger, onProgress: (d, t) => progress.push([d,
    t]) });
  return { ...mem, result, progress };
}

describe('backfill', () => {
  const retrofits = parseRetrofits('led:2026-03-01,lowflow:2026-03-01');
  let withRetrofit: Awaited<ReturnType<typeof backfillToMemory>>;
  let without: Awaited<ReturnType<typeof backfillToMemory>>;
  beforeAll(async () => {
    [withRetrofit, without] = [await backfillToMemory({ retrofits }), await backfillToMemory({})];
  }, 120_000);

  it('parses retrofit presets and refuses what it cannot read', () => {
    expect(retrofits.map((r) => ({ ...r }))).toEqual([
      { name: 'led', purpose: 'common_lighting', field: 'energy', factor: 0.6, at: RETROFIT_AT },
      { name: 'lowflow', purpose: 'household', field: 'volume', factor: 0.85, at: RETROFIT_AT },
    ]);
    expect(parseRetrofits('vfd:2026-03-01*0.7')[0]).toMatchObject({ purpose: 'water_pump', factor: 0.7 });
    expect(() => parseRetrofits('solar:2026-03-01')).toThrow(/known: led, vfd, lowflow/);
    expect(() => parseRetrofits('led:2026-02-30')).toThrow(/no such date/);
    expect(() => parseRetrofits('led 2026-03-01')).toThrow(/preset:YYYY-MM-DD/);
  });

  it('writes every reading in batches with progress, and the same seed gives identical data', async () => {
    const devices = demoDevices();
    expect(without.result.readings).toBe(60 * 96 * devices.length);
    expect(Math.max(...without.batches)).toBeLessThanOrEqual(5_000);
    expect(without.progress.at(-1)).toEqual([without.result.readings, without.result.readings]);
    const again = await backfillToMemory({}, devices);
    expect(again.digest()).toBe(without.digest());
    const other = await backfillToMemory({ seed: 12 }, devices);
    expect(other.digest()).not.toBe(again.digest());
  }, 60_000);

  it('keeps every register monotonic over the whole period, retrofits included', () => {
    for (const run of [withRetrofit, without]) {
      for (const [device, points] of run.registers) {
        for (let i = 1; i < points.length; i++) {
          if ((points[i]?.[1] ?? 0) < (points[i - 1]?.[1] ?? 0)) throw new Error(`${device} register fell at ${points[i]?.[0]}`);
        }
      }
    }
  });

  it('a retrofit reduces exactly the targeted consumption by its factor and leaves other devices untouched', () => {
    const devices = demoDevices();
    const lights = devices.filter((d) => d.purpose === 'common_lighting');
    const homes = devices.filter((d) => d.kind === 'water_meter' && d.purpose === 'household');
    const after = (run: typeof without, d: Device) => used(run.registers.get(d.id) ?? [], RETROFIT_AT, END);
    const before = (run: typeof without, d: Device) => used(run.registers.get(d.id) ?? [], RETROFIT_AT - 30 * DAY, RETROFIT_AT);
    // Against the same period without the retrofit (same seed: the same nights, the same showers).
    expect(sum(lights, (d) => after(withRetrofit, d)) / sum(lights, (d) => after(without, d))).toBeCloseTo(0.6, 2);
    expect(sum(homes, (d) => after(withRetrofit, d)) / sum(homes, (d) => after(without, d))).toBeCloseTo(0.85, 2);
    expect(sum(lights, (d) => before(withRetrofit, d))).toBeCloseTo(sum(lights, (d) => before(without, d)), 6);
    // Devices no retrofit targets report exactly the same (the pump and master meter follow the water saved).
    for (const d of devices.filter((x) => x.purpose === 'elevator' || x.kind === 'smart_bin' || x.kind === 'smoke_detector')) {
      expect(withRetrofit.registers.get(d.id)).toEqual(without.registers.get(d.id));
    }
    const lifts = devices.filter((d) => d.purpose === 'elevator');
    expect(sum(lifts, (d) => after(withRetrofit, d))).toBe(sum(lifts, (d) => after(without, d)));
  });
});

/** Readings of every kind in [from, to) according to the store's own count aggregate. */
async function countInStore(store: TelemetryStore, from: number, to: number): Promise<number> {
  let n = 0;
  for (const kind of kindNames) {
    const main = kinds[kind].mainField;
    const points = await store.series({ kind, from, to, every: 400 * DAY, agg: 'count', fields: [main] });
    for (const p of points) n += Number(p.values[main] ?? 0);
  }
  return n;
}

async function consumption(store: TelemetryStore, kind: 'power_meter' | 'water_meter', device: string, from: number, to: number): Promise<number> {
  const field = kind === 'power_meter' ? 'energy' : 'volume';
  const points = await store.series({ kind, device, from, to, fields: [field] });
  return Number(points.at(-1)?.values[field] ?? 0) - Number(points[0]?.values[field] ?? 0);
}

describe('backfill into the embedded DuckDB store', () => {
  let dir: string;
  afterAll(async () => { if (dir) await rm(dir, { recursive: true, force: true }); });

  it('stores every reading, and the savings are there to find 30 days before/after', async () => {
    dir = await mkdtemp(join(tmpdir(), 'anju-backfill-'));
    const db = await createEmbeddedDatabase({ dataDir: dir, memoryLimit: '256MB', threads: 2 }, { logger });
    try {
      const devices = demoDevices();
      const result = await runBackfill({ days: 60, end: END, seed: 11, retrofits: parseRetrofits('led:2026-03-01,lowflow:2026-03-01') }, { store: db.telemetry, devices, logger });
      expect(await countInStore(db.telemetry, result.from, result.to)).toBe(result.readings);
      const ratio = async (kind: 'power_meter' | 'water_meter', ds: Device[]) => {
        let b = 0;
        let a = 0;
        for (const d of ds) {
          b += await consumption(db.telemetry, kind, d.id, RETROFIT_AT - 30 * DAY, RETROFIT_AT);
          a += await consumption(db.telemetry, kind, d.id, RETROFIT_AT, END);
        }
        return a / b;
      };
      // Nights shorten ~5 % from February to March (lighting) and a month of showers varies a few %: hence the tolerances.
      expect(Math.abs(await ratio('power_meter', devices.filter((d) => d.purpose === 'common_lighting')) - 0.6)).toBeLessThan(0.06);
      expect(Math.abs(await ratio('water_meter', devices.filter((d) => d.purpose === 'household')) - 0.85)).toBeLessThan(0.06);
      expect(Math.abs(await ratio('power_meter', devices.filter((d) => d.purpose === 'elevator')) - 1)).toBeLessThan(0.06);
      // A rerun overwrites (the store contract's idempotent write), it never duplicates.
      await runBackfill({ days: 2, end: END, seed: 11 }, { store: db.telemetry, devices, logger });
      expect(await countInStore(db.telemetry, result.from, result.to)).toBe(result.readings);
    } finally {
      await db.close();
    }
  }, 120_000);
});

const influx = influxdAvailability();
describe.skipIf(influx.skip !== undefined)(`backfill into InfluxDB${influx.skip ? ` (skipped: ${influx.skip})` : ''}`, () => {
  let server: Influxd | undefined;
  afterAll(async () => { await server?.cleanup(); });

  it('stores every reading through the store contract', async () => {
    server = await startInfluxd({ database: 'anju' });
    const store = createInfluxStore({ url: server.url, db: 'anju' }, { logger });
    try {
      const devices = demoDevices();
      const progress: number[] = [];
      const result = await runBackfill({ days: 7, end: END, seed: 11, retrofits: parseRetrofits('vfd:2026-03-28') }, { store, devices, logger, onProgress: (d) => progress.push(d) });
      expect(result.readings).toBe(7 * 96 * devices.length);
      expect(progress.at(-1)).toBe(result.readings);
      expect(await countInStore(store, result.from, result.to)).toBe(result.readings);
      const answer = await server.query('SELECT count(energy) FROM power_meter', 'anju');
      expect(answer.results[0]?.series?.[0]?.values[0]?.[1]).toBe(7 * 96 * devices.filter((d) => d.kind === 'power_meter').length);
    } finally {
      await store.close();
    }
  }, 120_000);
});

