import { mkdir, mkdtemp, readdir, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { DuckDBInstance } from '@duckdb/node-api';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { sitePatchSchema, type DeviceInput, type Reading } from '../../core/index.js';
import { hashToken } from '../../core/secrets.js';
import {
  createDeviceDirectory, createEmbeddedDatabase, createLatestCache, DatabaseClosedError, DuplicateError,
  embeddedDatabaseFile, type EmbeddedDatabase, type StateStore,
} from '../../storage/index.js';
import { registerRollupsContract } from './rollups.contract.js';
import { telemetryStoreContract } from './store.contract.js';

const logger = pino({ level: 'silent' });
const T0 = Date.UTC(2025, 0, 1);
const dirs: string[] = [];

async function freshDir(): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'anju-storage-'));
  dirs.push(dir);
  return dir;
}
const openDb = (dataDir: string) => createEmbeddedDatabase({ dataDir, memoryLimit: '256MB', threads: 2 }, { logger });

afterEach(async () => {
  for (const d of dirs.splice(0)) await rm(d, { recursive: true, force: true });
});

/** A fresh database for the contract suites; `reopen` closes it and opens the same file again. */
async function contractHarness() {
  const dir = await freshDir();
  let db = await openDb(dir);
  return {
    store: db.telemetry,
    async reopen() {
      await db.close();
      db = await openDb(dir);
      return db.telemetry;
    },
    setSiteTimezone: (site: string, timezone: string) => db.state.upsertSite({ id: site, name: site, timezone }),
    cleanup: () => db.close(),
  };
}

telemetryStoreContract('embedded DuckDB', contractHarness);
registerRollupsContract('embedded DuckDB', contractHarness);

const reading = (device: string, ts: number, smoke = 0.1): Reading => ({ device, kind: 'smoke_detector', site: 's1', building: 'b1', ts, fields: { smoke } });

describe('embedded database', () => {
  let db: EmbeddedDatabase;
  let dir: string;
  beforeEach(async () => {
    dir = await freshDir();
    db = await openDb(dir);
  });
  afterEach(() => db.close());

  it('creates the data dir, anju.duckdb and the alarm file beside it', async () => {
    const nested = join(dir, 'a', 'b');
    const other = await createEmbeddedDatabase({ dataDir: nested, memoryLimit: '128MB', threads: 1 }, { logger });
    expect(other.state).toBeDefined();
    await other.close();
    expect((await readdir(nested)).filter((f) => f.endsWith('.duckdb')).sort()).toEqual(['alarms.duckdb', embeddedDatabaseFile]);
  });

  it('folds the WAL into the file when it passes checkpointThreshold: 64 MB by default, what is configured otherwise', async () => {
    const walBytes = async (d: string) => (await stat(join(d, `${embeddedDatabaseFile}.wal`)).catch(() => ({ size: 0 }))).size;
    const batch = (b: number) => Array.from({ length: 2_000 }, (_, i): Reading => ({
      device: `w-${i % 50}`, kind: 'smoke_detector', site: 's1', building: 'b1', ts: T0 + b * 2_000 + i, seq: b * 2_000 + i,
      fields: { smoke: i / 7, temperature: 20 + i / 1_000, co: 1, battery: 90, alarm: false },
    }));
    // The default: the WAL grows past 17 MiB without a fold (DuckDB's own default, 16 MB, would have folded it).
    let batches = 0;
    let before = 0;
    while ((await walBytes(dir)) < 17 * 2 ** 20 && batches < 2_000) {
      await db.telemetry.write(batch(batches++));
      const now = await walBytes(dir);
      expect(now).toBeGreaterThanOrEqual(before);
      before = now;
    }
    expect(await walBytes(dir)).toBeGreaterThanOrEqual(17 * 2 ** 20);
    // 1 MB configured: writes that take the default's WAL past 3 MB never leave more than that and one write's worth.
    const small = await freshDir();
    const other = await createEmbeddedDatabase({ dataDir: small, memoryLimit: '256MB', threads: 1, checkpointThreshold: '1MB' }, { logger });
    let largest = 0;
    for (let b = 0; b < Math.ceil(batches * 3 / 17); b += 1) {
      await other.telemetry.write(batch(b));
      largest = Math.max(largest, await walBytes(small));
    }
    await other.close();
    expect(largest).toBeGreaterThan(0);
    expect(largest).toBeLessThan(2 * 2 ** 20);
  });

  it('rejects operations after close with a clear error', async () => {
    await db.close();
    await expect(db.telemetry.write([reading('x', T0)])).rejects.toThrow(DatabaseClosedError);
    await expect(db.telemetry.latest('x')).rejects.toThrow(/closed/);
    await expect(db.state.getDevice('x')).rejects.toThrow(/closed/);
    await db.close(); // idempotent
  });

  it('rejects a malformed batch whole and stores nothing of it', async () => {
    const bad = { ...reading('x', T0 + 1), fields: { smoke: 'high' } } as unknown as Reading;
    await expect(db.telemetry.write([reading('x', T0), bad])).rejects.toThrow(/smoke must be float/);
    expect(await db.telemetry.latest('x')).toBeUndefined();
  });

  it('readings reach the table exactly: every double, text with quotes and Chinese, appended or merged', async () => {
    const values = [0.1 + 0.2, 1e-300, -1.7976931348623157e308, 5e-324, 123456.789012345, -0.5, 2 ** 53 - 1];
    const written = values.map((v, i): Reading => ({
      device: `x-${i}`, kind: 'smoke_detector', site: 's1', building: `楼"'\\ 3号 ${i}`, category: 'kitchen', ts: T0 + i, seq: 2 ** 40 + i,
      fields: { smoke: v, temperature: -v, alarm: i % 2 === 0 },
    }));
    await db.telemetry.write(written); // new devices: appended
    await db.telemetry.write(written.map((r) => ({ ...r, fields: { ...r.fields, co: 7 } }))); // the same (device, ts): merged
    for (const r of written) expect(await db.telemetry.latest(r.device)).toEqual({ ...r, fields: { ...r.fields, co: 7 } });
  });

  it('adds a column to a kind table written before the kind had that field', async () => {
    await db.close();
    const older = join(dir, 'older');
    await mkdir(older);
    const raw = await DuckDBInstance.create(join(older, embeddedDatabaseFile));
    const c = await raw.connect();
    // smoke_detector as an earlier release stored it: no battery field yet, its columns in another
    // order, and one no field names any more. New readings are appended by stored column order.
    await c.run(`CREATE TABLE smoke_detector (ts BIGINT NOT NULL, device VARCHAR NOT NULL, site VARCHAR NOT NULL, building VARCHAR NOT NULL,
      category VARCHAR, seq BIGINT, temperature DOUBLE, smoke DOUBLE, retired DOUBLE, co DOUBLE, alarm BOOLEAN, test BOOLEAN)`);
    await c.run(`INSERT INTO smoke_detector (ts, device, site, building, smoke) VALUES (${T0}, 'old', 's1', 'b1', 0.3)`);
    c.closeSync();
    raw.closeSync();
    db = await openDb(older);
    await db.telemetry.write([{ ...reading('new', T0), fields: { smoke: 0.1, temperature: 21, alarm: true, battery: 77 } }]);
    expect((await db.telemetry.latest('new'))?.fields).toEqual({ smoke: 0.1, temperature: 21, alarm: true, battery: 77 });
    expect((await db.telemetry.latest('old'))?.fields).toEqual({ smoke: 0.3 });
  });

  it('an existing store gets its daily register rollups built on the first open after the upgrade', async () => {
    const pm = (i: number): Reading => ({ device: 'pm-1', kind: 'power_meter', site: 's1', building: 'b1', ts: T0 + i * 3_600_000, fields: { energy: 100 + i } });
    await db.telemetry.write(Array.from({ length: 48 }, (_, i) => pm(i)));
    const q = { site: 's1', kind: 'power_meter' as const, field: 'energy', fromDate: '2024-12-31', toDate: '2025-01-03' };
    const expected = await db.telemetry.rollups?.days(q);
    expect(expected?.map((d) => [d.date, d.reads])).toEqual([['2025-01-01', 16], ['2025-01-02', 24], ['2025-01-03', 8]]);
    await db.close();
    // As a release before the rollups left the file: readings, no rollup rows, no "built" mark.
    const raw = await DuckDBInstance.create(join(dir, embeddedDatabaseFile));
    const c = await raw.connect();
    await c.run('DELETE FROM register_days');
    await c.run('DELETE FROM rollup_state');
    c.closeSync();
    raw.closeSync();
    db = await openDb(dir);
    expect(await db.telemetry.rollups?.days(q)).toEqual(expected);
  });

  it('reads the write bounds at open (warm): a replay of the stored tail merges, newer readings append, warm twice is harmless', async () => {
    const base = Date.now() - 3_600_000; // inside the bounds' look-back, so the device's own bound decides
    const at = (i: number, smoke: number) => reading('w1', base + i * 1000, smoke);
    await db.telemetry.write(Array.from({ length: 10 }, (_, i) => at(i, 0.1)));
    await db.close();
    db = await openDb(dir); // warm() ran inside the open
    await db.telemetry.warm();
    // The last five again (a spool replay after a crash) and two newer: one batch, so none may be inserted blindly.
    await db.telemetry.write([...Array.from({ length: 5 }, (_, i) => at(5 + i, 0.2)), at(10, 0.3), at(11, 0.3)]);
    const rows = await db.telemetry.series({ kind: 'smoke_detector', device: 'w1', from: base, to: base + 20_000 });
    expect(rows.map((p) => [p.ts - base, p.values.smoke])).toEqual(
      Array.from({ length: 12 }, (_, i) => [i * 1000, i < 5 ? 0.1 : i < 10 ? 0.2 : 0.3]));
    // Newer only: appended after the bound the last write left.
    await db.telemetry.write([at(12, 0.4), at(13, 0.4)]);
    expect((await db.telemetry.series({ kind: 'smoke_detector', device: 'w1', from: base, to: base + 20_000 })).map((p) => p.values.smoke).slice(-4))
      .toEqual([0.3, 0.3, 0.4, 0.4]);
    await db.close();
    await expect(db.telemetry.warm()).rejects.toThrow(DatabaseClosedError);
  });

  it('state survives reopen and the schema is not migrated twice', async () => {
    await db.state.upsertSite({ id: 's1', name: 'Site', timezone: 'Asia/Shanghai' });
    await db.close();
    db = await openDb(dir);
    expect(await db.state.getSite('s1')).toEqual({ id: 's1', name: 'Site', timezone: 'Asia/Shanghai' });
  });
});

describe('embedded state store', () => {
  let db: EmbeddedDatabase;
  let state: StateStore;
  beforeEach(async () => {
    db = await openDb(await freshDir());
    state = db.state;
  });
  afterEach(() => db.close());

  const input = (id: string, extra: Partial<DeviceInput> = {}): DeviceInput => ({ id, kind: 'smoke_detector', site: 's1', building: 'b1', ...extra });

  it("a site's grid region: stored, changed and unset; the patch schema refuses an unknown region", async () => {
    await state.upsertSite({ id: 's1', name: 'One', timezone: 'Asia/Shanghai', gridRegion: 'east' });
    expect(await state.getSite('s1')).toEqual({ id: 's1', name: 'One', timezone: 'Asia/Shanghai', gridRegion: 'east' });
    expect(await state.updateSite('s1', { gridRegion: 'south', name: 'One B' })).toEqual({ id: 's1', name: 'One B', timezone: 'Asia/Shanghai', gridRegion: 'south' });
    expect(await state.updateSite('s1', { gridRegion: null })).toEqual({ id: 's1', name: 'One B', timezone: 'Asia/Shanghai' });
    expect(await state.getSite('s1')).toEqual({ id: 's1', name: 'One B', timezone: 'Asia/Shanghai' });
    expect(await state.updateSite('nope', { name: 'x' })).toBeUndefined();
    expect(sitePatchSchema.safeParse({ gridRegion: 'mars' }).success).toBe(false);
    expect(sitePatchSchema.safeParse({ timezone: 'Mars/Olympus' }).success).toBe(false);
    expect(sitePatchSchema.safeParse({ gridRegion: 'southwest', timezone: 'Asia/Chongqing' }).success).toBe(true);
  });

  it('sites and buildings: upsert, get, list with total', async () => {
    await state.upsertSite({ id: 's2', name: 'Two', timezone: 'Asia/Shanghai' });
    await state.upsertSite({ id: 's1', name: 'One', address: '1 Road', timezone: 'Asia/Shanghai' });
    await state.upsertSite({ id: 's1', name: 'One renamed', timezone: 'Asia/Shanghai' });
    expect(await state.getSite('s1')).toEqual({ id: 's1', name: 'One renamed', timezone: 'Asia/Shanghai' });
    expect(await state.getSite('none')).toBeUndefined();
    expect(await state.listSites({ limit: 1, offset: 0 })).toEqual({ items: [expect.objectContaining({ id: 's1' })], total: 2 });
    expect(await state.listSites({ limit: 10, offset: 5 })).toEqual({ items: [], total: 2 });
    await state.upsertBuilding({ id: 'b2', site: 's1', name: 'B2', floors: 6 });
    await state.upsertBuilding({ id: 'b1', site: 's1', name: 'B1' });
    await state.upsertBuilding({ id: 'b1', site: 's2', name: 'Other B1' });
    expect(await state.listBuildings('s1', { limit: 10, offset: 0 })).toEqual({
      items: [{ id: 'b1', site: 's1', name: 'B1' }, { id: 'b2', site: 's1', name: 'B2', floors: 6 }], total: 2,
    });
  });

  it('devices: create, get, update, delete; the name defaults to the id', async () => {
    const d = await state.createDevice(input('pm-1', { kind: 'power_meter', rated_current: 32, purpose: 'elevator', location: 'B1 pump room' }), 'hash-1', T0);
    expect(d).toEqual({ id: 'pm-1', kind: 'power_meter', site: 's1', building: 'b1', name: 'pm-1', location: 'B1 pump room', purpose: 'elevator', rated_current: 32, createdAt: T0 });
    expect(await state.getDevice('pm-1')).toEqual(d);
    const u = await state.updateDevice('pm-1', { name: 'Elevator feeder', rated_current: 40 });
    expect(u).toEqual({ ...d, name: 'Elevator feeder', rated_current: 40 });
    expect(await state.updateDevice('nobody', { name: 'x' })).toBeUndefined();
    expect(await state.deleteDevice('pm-1')).toBe(true);
    expect(await state.deleteDevice('pm-1')).toBe(false);
    expect(await state.getDevice('pm-1')).toBeUndefined();
  });

  it('a duplicate device id rejects with DuplicateError', async () => {
    await state.createDevice(input('sd-1'), 'h', T0);
    await expect(state.createDevice(input('sd-1'), 'h2', T0)).rejects.toBeInstanceOf(DuplicateError);
    expect(await state.getDeviceSecretHash('sd-1')).toBe('h');
  });

  it('lists devices by id with filters, limit/offset and total', async () => {
    await state.createDevice(input('sd-3', { building: 'b2' }), 'h', T0);
    await state.createDevice(input('sd-1'), 'h', T0);
    await state.createDevice(input('bin-1', { kind: 'smart_bin', category: 'kitchen' }), 'h', T0);
    await state.createDevice(input('sd-2', { site: 's2' }), 'h', T0);
    const ids = (p: { items: { id: string }[] }) => p.items.map((d) => d.id);
    const all = await state.listDevices({ limit: 10, offset: 0 });
    expect([ids(all), all.total]).toEqual([['bin-1', 'sd-1', 'sd-2', 'sd-3'], 4]);
    const p2 = await state.listDevices({ limit: 2, offset: 2 });
    expect([ids(p2), p2.total]).toEqual([['sd-2', 'sd-3'], 4]);
    const s1 = await state.listDevices({ site: 's1', kind: 'smoke_detector', limit: 1, offset: 0 });
    expect([ids(s1), s1.total]).toEqual([['sd-1'], 2]);
    const b2 = await state.listDevices({ building: 'b2', limit: 10, offset: 0 });
    expect([ids(b2), b2.total]).toEqual([['sd-3'], 1]);
    expect(await state.listDevices({ site: 's1', limit: 10, offset: 99 })).toEqual({ items: [], total: 3 });
    expect((await state.allDevices()).map((d) => d.id)).toEqual(['bin-1', 'sd-1', 'sd-2', 'sd-3']);
    expect((await state.getDevice('bin-1'))?.category).toBe('kitchen');
  });

  it('never returns the secret hash with a device; it is read and replaced on its own', async () => {
    await state.createDevice(input('sd-1'), 'scrypt$secret-hash', T0);
    const seen = JSON.stringify([await state.getDevice('sd-1'), await state.allDevices(), await state.listDevices({ limit: 5, offset: 0 })]);
    expect(seen).not.toMatch(/secret/i);
    expect(await state.getDeviceSecretHash('sd-1')).toBe('scrypt$secret-hash');
    await state.setDeviceSecretHash('sd-1', 'scrypt$new');
    expect(await state.getDeviceSecretHash('sd-1')).toBe('scrypt$new');
    expect(await state.getDeviceSecretHash('nobody')).toBeUndefined();
  });

  it('API tokens: create, find by hash, list, delete; hashes are unique', async () => {
    const tok = { id: 't1', name: 'control room', role: 'operator' as const, createdAt: T0 };
    await state.createToken(tok, hashToken('anju_a'));
    await state.createToken({ ...tok, id: 't2', role: 'admin' }, hashToken('anju_b'));
    expect(await state.findTokenByHash(hashToken('anju_a'))).toEqual(tok);
    expect(await state.findTokenByHash(hashToken('anju_zzz'))).toBeUndefined();
    await expect(state.createToken({ ...tok, id: 't3' }, hashToken('anju_a'))).rejects.toBeInstanceOf(DuplicateError);
    expect((await state.listTokens()).map((t) => t.id)).toEqual(['t1', 't2']);
    expect(JSON.stringify(await state.listTokens())).not.toContain(hashToken('anju_a'));
    expect(await state.deleteToken('t1')).toBe(true);
    expect(await state.deleteToken('t1')).toBe(false);
    expect(await state.findTokenByHash(hashToken('anju_a'))).toBeUndefined();
  });
});

describe('device directory', () => {
  let db: EmbeddedDatabase;
  let hashReads: number;
  let state: StateStore;
  let now: number;
  beforeEach(async () => {
    db = await openDb(await freshDir());
    hashReads = 0;
    // Counts hash look-ups: a cached verification never reaches the store.
    state = { ...db.state, getDeviceSecretHash: (id: string) => { hashReads += 1; return db.state.getDeviceSecretHash(id); } };
    now = T0;
  });
  afterEach(() => db.close());

  it('creates a device with a one-time secret, its site and building, and loads it back', async () => {
    const dir = createDeviceDirectory({ state, clock: () => now });
    await dir.load();
    const { device, secret } = await dir.create({ id: 'sd-1', kind: 'smoke_detector', site: 'chundu', building: 'b7' });
    expect(secret).toMatch(/^[\w-]{32}$/);
    expect(device).toMatchObject({ id: 'sd-1', name: 'sd-1', createdAt: T0 });
    expect(await db.state.getSite('chundu')).toMatchObject({ id: 'chundu', name: 'chundu' });
    expect((await db.state.listBuildings('chundu', { limit: 10, offset: 0 })).items).toEqual([{ id: 'b7', site: 'chundu', name: 'b7' }]);
    expect(await db.state.getDeviceSecretHash('sd-1')).toMatch(/^scrypt\$/);
    await expect(dir.create({ id: 'sd-1', kind: 'smoke_detector', site: 'chundu', building: 'b7' })).rejects.toBeInstanceOf(DuplicateError);

    await db.state.upsertBuilding({ id: 'b8', site: 'chundu', name: 'Building 8' });
    await dir.create({ id: 'sd-2', kind: 'smoke_detector', site: 'chundu', building: 'b8' });
    expect((await db.state.listBuildings('chundu', { limit: 10, offset: 0 })).items[1]?.name).toBe('Building 8');

    const again = createDeviceDirectory({ state });
    await again.load();
    expect(again.list().map((d) => d.id)).toEqual(['sd-1', 'sd-2']);
    expect(again.get('sd-1')).toEqual(device);
  });

  it('verifies secrets with scrypt, caches successes for 5 minutes, and forgets them on rotate and delete', async () => {
    const dir = createDeviceDirectory({ state, clock: () => now });
    await dir.load();
    const { secret } = await dir.create({ id: 'sd-1', kind: 'smoke_detector', site: 's', building: 'b' });
    expect(await dir.verify('sd-1', 'wrong')).toBe(false);
    expect(await dir.verify('nobody', secret)).toBe(false);
    hashReads = 0;
    // The secret generated at creation is known good: the first CONNECT costs no scrypt.
    expect(await dir.verify('sd-1', secret)).toBe(true);
    expect(await dir.verify('sd-1', secret)).toBe(true);
    expect(hashReads).toBe(0);
    now += 6 * 60_000;
    expect(await dir.verify('sd-1', secret)).toBe(true);
    expect(await dir.verify('sd-1', secret)).toBe(true);
    expect(hashReads).toBe(1);

    const rotated = await dir.rotateSecret('sd-1');
    expect(rotated).toBeDefined();
    expect(await dir.verify('sd-1', secret)).toBe(false);
    expect(await dir.verify('sd-1', rotated as string)).toBe(true);
    expect(await dir.rotateSecret('nobody')).toBeUndefined();

    expect(await dir.delete('sd-1')).toBe(true);
    expect(await dir.verify('sd-1', rotated as string)).toBe(false);
    expect(dir.get('sd-1')).toBeUndefined();
  });

  it('update writes through and keeps memory in step', async () => {
    const dir = createDeviceDirectory({ state });
    await dir.load();
    await dir.create({ id: 'wm-1', kind: 'water_meter', site: 's', building: 'b' });
    const u = await dir.update('wm-1', { q3: 2.5, building: 'b2' });
    expect(u).toMatchObject({ q3: 2.5, building: 'b2' });
    expect(dir.get('wm-1')).toEqual(u);
    expect((await db.state.listBuildings('s', { limit: 10, offset: 0 })).items.map((b) => b.id)).toEqual(['b', 'b2']);
    expect(await dir.update('nobody', { name: 'x' })).toBeUndefined();
  });
});

describe('latest cache', () => {
  it('primes from the store and keeps the newer reading per device', async () => {
    const db = await openDb(await freshDir());
    try {
      await db.telemetry.write([reading('a', T0 + 1000), reading('b', T0)]);
      const cache = createLatestCache({ store: db.telemetry });
      cache.accept([reading('b', T0 + 5000, 0.5)]); // arrives before priming ends: must survive it
      await cache.prime();
      expect(cache.size()).toBe(2);
      expect(cache.get('a')?.ts).toBe(T0 + 1000);
      expect(cache.get('b')?.fields.smoke).toBe(0.5);
      cache.accept([reading('a', T0 + 500, 0.9)]); // late and older: ignored
      expect(cache.get('a')?.ts).toBe(T0 + 1000);
      cache.accept([reading('a', T0 + 2000, 0.7), reading('c', T0)]);
      expect(cache.get('a')?.fields.smoke).toBe(0.7);
      cache.forget('a');
      expect(cache.get('a')).toBeUndefined();
      expect(cache.size()).toBe(2);
    } finally {
      await db.close();
    }
  });
});
