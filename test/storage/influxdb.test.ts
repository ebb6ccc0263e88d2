import { pino } from 'pino';
import { Registry } from 'prom-client';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import type { Reading } from '../../core/index.js';
import { selectTelemetryStore } from '../../cli/telemetry-path.js';
import { loadConfig } from '../../core/config.js';
import { InvalidBatchError, StoreUnavailableError, type TelemetryStore } from '../../storage/index.js';
import { createInfluxStore, toLine } from '../../storage/influxdb/index.js';
import { parseInfluxDuration } from '../../storage/influxdb/rollups.js';
import { influxdAvailability, startInfluxd, type Influxd } from '../helpers/influxd.js';
import { freePort } from '../helpers/mosquitto.js';
import { registerRollupsContract } from './rollups.contract.js';
import { telemetryStoreContract } from './store.contract.js';

const { skip } = influxdAvailability();
const logger = pino({ level: 'silent' });
const T0 = Date.UTC(2025, 0, 1);

let influxd: Influxd;
let dbCount = 0;
/** A fresh database per use: the suite shares one influxd and stays fast. */
async function freshDb(): Promise<string> {
  const db = `anju_${process.pid}_${++dbCount}`;
  await influxd.createDatabase(db);
  return db;
}

describe.skipIf(skip)(`InfluxDB store against Debian's influxd ${skip ?? ''}`, () => {
  beforeAll(async () => {
    influxd = await startInfluxd();
  });
  afterAll(async () => {
    await influxd?.cleanup();
  });

  /** A fresh database per suite run; `reopen` makes a new client on it; site zones from a map. */
  async function contractHarness() {
    const db = await freshDb();
    const zones = new Map<string, string>();
    const open = () => createInfluxStore({ url: influxd.url, db }, { logger, siteTimezone: (site) => zones.get(site) });
    let store = open();
    return {
      store,
      async reopen() {
        await store.close();
        store = open();
        return store;
      },
      async setSiteTimezone(site: string, timezone: string) { zones.set(site, timezone); },
      async cleanup() {
        await store.close();
        await influxd.dropDatabase(db);
      },
    };
  }

  telemetryStoreContract('InfluxDB 1.x (v1 /write, InfluxQL /query)', contractHarness);
  registerRollupsContract('InfluxDB 1.x (rollups maintained by the store)', contractHarness);

  it('a database written before the rollups existed gets them built, in the background, when a report first asks', async () => {
    const db = await freshDb();
    // As an older release left it: readings, no rollup rows, no mark.
    const lines = Array.from({ length: 48 }, (_, i) => `power_meter,building=b1,device=pm-old,site=s-old energy=${100 + i} ${T0 + i * 3_600_000}`).join('\n');
    const res = await fetch(`${influxd.url}/write?db=${db}&precision=ms`, { method: 'POST', body: lines });
    expect(res.status).toBe(204);
    const store = createInfluxStore({ url: influxd.url, db }, { logger });
    try {
      const rollups = store.rollups as NonNullable<TelemetryStore['rollups']>;
      const q = { site: 's-old', kind: 'power_meter' as const, field: 'energy', fromDate: '2024-12-31', toDate: '2025-01-03' };
      expect(await rollups.days(q)).toEqual([]);
      // Not ready: readers read raw readings meanwhile; the build runs and marks it.
      expect(await rollups.ready?.()).toBe(false);
      await vi.waitFor(async () => expect(await rollups.ready?.()).toBe(true), { timeout: 30_000, interval: 200 });
      expect((await rollups.days(q)).map((d) => [d.date, d.reads, d.advance])).toEqual([['2025-01-01', 16, 15], ['2025-01-02', 24, 23], ['2025-01-03', 8, 7]]);
    } finally {
      await store.close();
      await influxd.dropDatabase(db);
    }
  }, 60_000);

  it('a rebuild in another zone (the site\'s zone changed) keeps the days the retention policy may have cut, and makes the rest again', async () => {
    // Found in review: the rebuild tombstoned every day of the range without raw readings — with a raw
    // retention policy shorter than the range, the baseline year of a savings report, for good.
    const db = await freshDb();
    const zones = new Map([['s-rp', 'Asia/Shanghai']]);
    const store = createInfluxStore({ url: influxd.url, db }, { logger, siteTimezone: (site) => zones.get(site) });
    try {
      const DAY = 86_400_000;
      const start = Math.floor(Date.now() / DAY) * DAY - 30 * DAY;
      const date = (ms: number) => new Date(ms).toISOString().slice(0, 10);
      const readings: Reading[] = Array.from({ length: 30 * 24 }, (_, i) => (
        { device: 'pm-rp', kind: 'power_meter', site: 's-rp', building: 'b1', ts: start + i * 3_600_000, fields: { energy: 1_000 + i } }));
      for (let i = 0; i < readings.length; i += 240) await store.write(readings.slice(i, i + 240));
      const rollups = store.rollups as NonNullable<TelemetryStore['rollups']>;
      const range = { site: 's-rp', kind: 'power_meter' as const, field: 'energy', fromDate: date(start), toDate: date(start + 29 * DAY) };
      const before = await rollups.days(range);
      expect(before.length).toBe(30);
      // The policy shortened to 20 days, and older readings gone as it would drop them.
      await influxd.query(`ALTER RETENTION POLICY "autogen" ON "${db}" DURATION 480h`, db);
      await influxd.query(`DELETE FROM "power_meter" WHERE time < ${Date.now() - 21 * DAY}ms`, db);
      const floorDate = date(Date.now() - 20 * DAY + DAY); // the first whole UTC day after now − 20 d

      await rollups.rebuild({ ...range, timezone: 'UTC' });
      const after = await rollups.days(range);
      const kept = after.filter((r) => r.date < floorDate);
      expect(kept).toEqual(before.filter((r) => r.date < floorDate));
      expect(kept.length).toBeGreaterThanOrEqual(9);
      const remade = after.filter((r) => r.date >= floorDate);
      expect(remade.length).toBe(30 - kept.length);
      expect(remade.every((r) => r.timezone === 'UTC' && r.reads === 24)).toBe(true);
    } finally {
      await store.close();
      await influxd.dropDatabase(db);
    }
  }, 60_000);

  it('reads a retention policy\'s duration as SHOW RETENTION POLICIES prints it', () => {
    expect(parseInfluxDuration('0s')).toBe(0);
    expect(parseInfluxDuration('480h0m0s')).toBe(20 * 86_400_000);
    expect(parseInfluxDuration('1h30m15s')).toBe(5_415_000);
    expect(parseInfluxDuration('INF')).toBeUndefined();
    expect(parseInfluxDuration('')).toBeUndefined();
  });

  it('a fresh database is marked rolled up by its first write, so reports use the rollups at once', async () => {
    const db = await freshDb();
    const store = createInfluxStore({ url: influxd.url, db }, { logger });
    try {
      await store.write([{ device: 'pm-new', kind: 'power_meter', site: 's-new', building: 'b1', ts: T0, fields: { energy: 1 } }]);
      expect(await store.rollups?.ready?.()).toBe(true);
    } finally {
      await store.close();
      await influxd.dropDatabase(db);
    }
  });

  describe('schema, escaping and failures', () => {
    let db: string;
    let store: TelemetryStore;
    beforeAll(async () => {
      db = await freshDb();
      store = createInfluxStore({ url: influxd.url, db }, { logger });
    });
    afterAll(() => store.close());
    const raw = async (q: string) => (await influxd.query(q, db)).results[0]?.series ?? [];
    const col = (s: { columns: string[]; values: unknown[][] } | undefined, c: string) => s?.values.map((v) => v[s.columns.indexOf(c)]);

    it('stores the documented schema: a measurement per kind, tags, typed fields, ms time (raw InfluxQL)', async () => {
      await store.write([
        { device: 'sd-1', kind: 'smoke_detector', site: 'chundu', building: 'b7', ts: T0 + 1, seq: 9, fields: { smoke: 0.12, temperature: 23, alarm: false } },
        { device: 'bin-1', kind: 'smart_bin', site: 'chundu', building: 'b7', category: 'kitchen', ts: T0, fields: { fill: 80, tilt: true } },
      ]);
      expect(col((await raw('SHOW MEASUREMENTS'))[0], 'name')).toEqual(['smart_bin', 'smoke_detector']);
      expect(col((await raw('SHOW TAG KEYS FROM "smoke_detector"'))[0], 'tagKey')).toEqual(['building', 'device', 'site']);
      expect(col((await raw('SHOW TAG KEYS FROM "smart_bin"'))[0], 'tagKey')).toEqual(['building', 'category', 'device', 'site']);
      const fk = (await raw('SHOW FIELD KEYS FROM "smoke_detector"'))[0];
      const types = Object.fromEntries((fk?.values ?? []).map(([k, t]) => [k, t]));
      // 23 went out as the float `23`, not the integer `23i`: a later 23.5 must not conflict.
      expect(types).toEqual({ alarm: 'boolean', seq: 'integer', smoke: 'float', temperature: 'float' });
      const [s] = await raw(`SELECT * FROM "smoke_detector" WHERE "device" = 'sd-1'`);
      expect(s?.values).toEqual([[T0 + 1, false, 'b7', 'sd-1', 9, 'chundu', 0.12, 23]]);
      expect(s?.columns).toEqual(['time', 'alarm', 'building', 'device', 'seq', 'site', 'smoke', 'temperature']);
      await store.write([{ device: 'sd-1', kind: 'smoke_detector', site: 'chundu', building: 'b7', ts: T0 + 2, fields: { smoke: 0.1, temperature: 23.5 } }]);
      expect((await store.latest('sd-1'))?.fields.temperature).toBe(23.5);
    });

    it('writes line protocol with floats unsuffixed, booleans, seq as an integer and escaped tags', () => {
      const line = toLine({ device: 'a b', kind: 'smoke_detector', site: 's,1', building: 'b=2', ts: T0, seq: 3, fields: { smoke: 23, alarm: true } });
      expect(line).toBe(`smoke_detector,building=b\\=2,device=a\\ b,site=s\\,1 alarm=T,seq=3i,smoke=23 ${T0}`);
    });

    it('round-trips ids with dots and dashes and tag values needing escapes', async () => {
      const r: Reading = { device: 'sd-1.b-2', kind: 'water_meter', site: 'site a, north=1', building: 'b "7"', ts: T0, fields: { volume: 12.5 } };
      await store.write([r]);
      expect(await store.latest('sd-1.b-2')).toEqual(r);
      const pts = await store.series({ kind: 'water_meter', site: 'site a, north=1', building: 'b "7"', from: T0, to: T0 + 1 });
      expect(pts.map((p) => p.device)).toEqual(['sd-1.b-2']);
    });

    it('a quote in a filter value stays inside its string literal', async () => {
      await store.write([{ device: 'pm-1', kind: 'power_meter', site: 's1', building: 'b1', ts: T0, fields: { energy: 1 } }]);
      const q = { kind: 'power_meter' as const, from: 0, to: T0 + 1 };
      expect(await store.series({ ...q, site: "s1' OR \"site\" =~ /.*/ OR \"site\" = '" })).toEqual([]);
      expect(await store.series({ ...q, device: "x'; DROP DATABASE \"" + db + '"; --' })).toEqual([]);
      expect(await store.series({ ...q, building: 'b1\\' })).toEqual([]);
      expect(await store.latest("pm-1' OR 'a'='a")).toBeUndefined();
      expect((await store.series({ ...q, site: 's1' })).length).toBe(1);
    });

    it('raw limit breaks ties at the boundary instant by device, like the embedded store', async () => {
      // Buildings chosen so that series-key order (building sorts first) differs from device order.
      const mk = (device: string, building: string, ts: number): Reading => ({ device, kind: 'smart_bin', site: 'tie', building, category: 'residual', ts, fields: { fill: 1 } });
      await store.write([mk('zz', 'b', T0), mk('aa', 'z', T0 + 1), mk('mm', 'm', T0 + 1), mk('bb', 'a', T0 + 1), mk('aa', 'z', T0 + 2)]);
      const pts = await store.series({ kind: 'smart_bin', site: 'tie', from: T0, to: T0 + 10, limit: 3, fields: ['fill'] });
      expect(pts.map((p) => [p.ts - T0, p.device])).toEqual([[0, 'zz'], [1, 'aa'], [1, 'bb']]);
    });

    it('refuses a malformed batch before sending anything', async () => {
      const bad = { device: 'x', kind: 'smoke_detector', site: 's', building: 'b', ts: T0, fields: { smoke: 'high' } } as unknown as Reading;
      await expect(store.write([bad])).rejects.toBeInstanceOf(InvalidBatchError);
      await expect(store.write([{ device: 'x', kind: 'smoke_detector', site: 's', building: 'b', ts: 1.5, fields: { smoke: 1 } }])).rejects.toBeInstanceOf(InvalidBatchError);
      await expect(store.write([{ device: 'x', kind: 'smoke_detector', site: 's\\', building: 'b', ts: T0, fields: { smoke: 1 } }])).rejects.toThrow(/backslash/);
      await expect(store.write([{ device: 'x', kind: 'smoke_detector', site: 's', building: '', ts: T0, fields: { smoke: 1 } }])).rejects.toBeInstanceOf(InvalidBatchError);
      expect(await store.latest('x')).toBeUndefined();
    });

    it('a 400 from influxd (field type conflict) is an InvalidBatchError, counted by status', async () => {
      const conflictDb = await freshDb();
      await fetch(`${influxd.url}/write?db=${conflictDb}&precision=ms`, { method: 'POST', body: `smoke_detector,building=b,device=x,site=s smoke=1i ${T0}` });
      const metrics = new Registry();
      const s = createInfluxStore({ url: influxd.url, db: conflictDb }, { logger, metrics });
      const err = await s.write([{ device: 'y', kind: 'smoke_detector', site: 's', building: 'b', ts: T0, fields: { smoke: 0.5 } }]).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(InvalidBatchError);
      expect((err as Error).message).toMatch(/field type conflict/);
      await s.latest('x');
      const json = await metrics.getMetricsAsJSON();
      const errors = json.find((m) => m.name === 'anju_influx_errors_total')?.values;
      expect(errors).toEqual([expect.objectContaining({ labels: { status: '400' }, value: 1 })]);
      const seconds = json.find((m) => m.name === 'anju_influx_request_seconds')?.values ?? [];
      expect(seconds.filter((v) => (v as { metricName?: string }).metricName === 'anju_influx_request_seconds_count').map((v) => [v.labels.op, v.value])).toEqual([['write', 1], ['query', 1]]);
      await s.close();
    });

    it('an unreachable server is StoreUnavailableError for writes and reads', async () => {
      const s = createInfluxStore({ url: `http://127.0.0.1:${await freePort()}`, db: 'x' }, { logger });
      await expect(s.write([{ device: 'x', kind: 'water_meter', site: 's', building: 'b', ts: T0, fields: { volume: 1 } }])).rejects.toBeInstanceOf(StoreUnavailableError);
      await expect(s.latest('x')).rejects.toBeInstanceOf(StoreUnavailableError);
      await s.close();
    });

    it('a hung server times out as StoreUnavailableError, and the replay after it answers is idempotent', async () => {
      const s = createInfluxStore({ url: influxd.url, db, timeoutMs: 300 }, { logger });
      const r: Reading = { device: 'hang-1', kind: 'water_meter', site: 's', building: 'b', ts: T0, fields: { volume: 7 } };
      await influxd.pause();
      try {
        await expect(s.write([r])).rejects.toBeInstanceOf(StoreUnavailableError);
      } finally {
        influxd.resume();
      }
      await s.write([r]);
      expect(await s.series({ kind: 'water_meter', device: 'hang-1', from: 0, to: T0 + 1 })).toHaveLength(1);
      await s.close();
    });

    it('is what ANJU_STORE=influxdb selects, instead of the embedded store', async () => {
      const config = loadConfig({ ANJU_STORE: 'influxdb', ANJU_INFLUX_URL: influxd.url, ANJU_INFLUX_DB: db });
      const embedded = { name: 'embedded' } as TelemetryStore;
      const selected = selectTelemetryStore(config, embedded, { logger, metrics: new Registry() });
      expect(selected.name).toBe('influxdb');
      expect(selectTelemetryStore(loadConfig({}), embedded, { logger, metrics: new Registry() })).toBe(embedded);
      await selected.close();
    });

    it('the harness restarts influxd on the same data after a clean stop and after SIGKILL', async () => {
      const r: Reading = { device: 'restart-1', kind: 'water_meter', site: 's', building: 'b', ts: T0, fields: { volume: 1 } };
      await store.write([r]);
      await influxd.stop();
      expect(influxd.running).toBe(false);
      await expect(store.write([{ ...r, ts: T0 + 1 }])).rejects.toBeInstanceOf(StoreUnavailableError);
      await influxd.start();
      await store.write([{ ...r, ts: T0 + 2 }]);
      await influxd.kill();
      await influxd.start();
      const pts = await store.series({ kind: 'water_meter', device: 'restart-1', from: 0, to: T0 + 10 });
      expect(pts.map((p) => p.ts - T0)).toEqual([0, 2]);
    });

    it('measures the write rate: 50k readings in batches of 5k', async () => {
      const rateDb = await freshDb();
      const s = createInfluxStore({ url: influxd.url, db: rateDb }, { logger });
      const batches = Array.from({ length: 10 }, (_, b) => Array.from({ length: 5_000 }, (_, i): Reading => {
        const n = b * 5_000 + i;
        return { device: `pm-${n % 500}`, kind: 'power_meter', site: 's1', building: `b${n % 7}`, ts: T0 + Math.floor(n / 500) * 1000, seq: n, fields: { energy: n / 10, power: 1200.5, voltage: 230, current: 5.2 } };
      }));
      const started = performance.now();
      for (const b of batches) await s.write(b);
      const seconds = (performance.now() - started) / 1000;
      console.log(`influxdb store: 50,000 readings in 10 batches of 5,000: ${seconds.toFixed(2)} s, ${Math.round(50_000 / seconds)} points/s`);
      const [c] = (await influxd.query('SELECT count("energy") FROM "power_meter"', rateDb)).results[0]?.series ?? [];
      expect(c?.values[0]?.[1]).toBe(50_000);
      await s.close();
    });
  });
});
