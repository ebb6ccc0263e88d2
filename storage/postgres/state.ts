import type pg from 'pg';
import type { Building, Device, DeviceInput, DevicePatch, Site, SitePatch } from '../../core/index.js';
import type { ApiToken, DeviceFilter, Page, Role, StateStore } from '../state/contract.js';
import { pageOf, present, refuseDuplicate, rows, transaction, where, whereEq, whereIn, type Params } from './connection.js';
import type { StoreLifecycle } from './lifecycle.js';

/**
 * The StateStore on PostgreSQL (registry, device secret hashes, API tokens), with the same
 * semantics as the embedded one (storage/embedded/state.ts): the contract suite
 * (test/storage/state-store.contract.ts) judges both. Every call is one statement or one
 * transaction; PostgreSQL's primary keys make a duplicate id a DuplicateError whichever node wrote
 * first.
 */

/** Device columns other than id, kind, created_at and secret_hash; all patchable. */
const deviceAttrs = ['site', 'building', 'name', 'location', 'category', 'purpose', 'rated_current', 'q3', 'parent', 'report_interval_s', 'connection', 'capabilities'] as const;
type DeviceAttr = (typeof deviceAttrs)[number];

/** Never `SELECT *` a device: the secret hash stays in the table unless asked for by name. */
const deviceCols = `id, kind, ${deviceAttrs.join(', ')}, created_at`;

type Row = Record<string, unknown>;

function rowToDevice(r: Row): Device {
  const attrs = Object.fromEntries(deviceAttrs.filter((a) => a !== 'name').map((a) => [a, r[a]]));
  return { id: String(r.id), kind: String(r.kind), name: String(r.name), createdAt: Number(r.created_at), ...present(attrs) } as Device;
}

function rowToSite(r: Row): Site {
  return { id: String(r.id), name: String(r.name), timezone: String(r.timezone), ...present({ address: r.address as string | null, gridRegion: r.grid_region as Site['gridRegion'] | null }) };
}

function rowToBuilding(r: Row): Building {
  return { id: String(r.id), site: String(r.site), name: String(r.name), ...present({ floors: r.floors as number | null }) };
}

function rowToToken(r: Row): ApiToken {
  return { id: String(r.id), name: String(r.name), role: String(r.role) as Role, createdAt: Number(r.created_at) };
}

/** Capabilities, the one list attribute, as JSON for its JSONB column. */
const value = (v: string | number | readonly string[] | null | undefined): unknown => (v === undefined ? null : typeof v === 'object' && v !== null ? JSON.stringify(v) : v);

export function createPostgresStateStore(deps: { pool: pg.Pool; life: StoreLifecycle; onSite?(site: Site): void }): StateStore {
  const { pool, life } = deps;
  const open = () => life.open('state');

  const writeSite = async (q: pg.Pool | pg.PoolClient, site: Site) => {
    await q.query(
      `INSERT INTO sites (id, name, address, timezone, grid_region) VALUES ($1, $2, $3, $4, $5)
       ON CONFLICT (id) DO UPDATE SET name = excluded.name, address = excluded.address, timezone = excluded.timezone, grid_region = excluded.grid_region`,
      [site.id, site.name, value(site.address), site.timezone, value(site.gridRegion)],
    );
  };
  const getDevice = async (id: string): Promise<Device | undefined> => {
    open();
    const r = await rows(pool, `SELECT ${deviceCols} FROM devices WHERE id = $1`, [id]);
    return r[0] ? rowToDevice(r[0]) : undefined;
  };
  return {
    async upsertSite(site) {
      open();
      await writeSite(pool, site);
      deps.onSite?.(site);
    },
    async updateSite(id, patch: SitePatch) {
      open();
      // Read and write under the row's lock: two nodes patching different attributes both land.
      const next = await transaction(pool, async (c) => {
        const r = await rows(c, 'SELECT * FROM sites WHERE id = $1 FOR UPDATE', [id]);
        if (!r[0]) return undefined;
        const { gridRegion, ...rest } = patch;
        const site: Site = { ...rowToSite(r[0]), ...rest };
        if (gridRegion === null) delete site.gridRegion;
        else if (gridRegion !== undefined) site.gridRegion = gridRegion;
        await writeSite(c, site);
        return site;
      });
      // Told once committed: the zone a daily rollup uses must be the stored one.
      if (next) deps.onSite?.(next);
      return next;
    },
    async getSite(id) {
      open();
      const r = await rows(pool, 'SELECT * FROM sites WHERE id = $1', [id]);
      return r[0] ? rowToSite(r[0]) : undefined;
    },
    async listSites(p) {
      open();
      const w = where();
      whereIn(w, 'id', p.ids);
      const { rows: found, total } = await pageOf<Row>(pool, 'sites', '*', w, 'id', p);
      return { items: found.map(rowToSite), total };
    },
    async upsertBuilding(b) {
      open();
      await pool.query(
        `INSERT INTO buildings (site, id, name, floors) VALUES ($1, $2, $3, $4)
         ON CONFLICT (site, id) DO UPDATE SET name = excluded.name, floors = excluded.floors`,
        [b.site, b.id, b.name, value(b.floors)],
      );
    },
    async listBuildings(site, p) {
      open();
      const w = where();
      whereEq(w, 'site', site);
      const { rows: found, total } = await pageOf<Row>(pool, 'buildings', '*', w, 'id', p);
      return { items: found.map(rowToBuilding), total };
    },

    async createDevice(input: DeviceInput, secretHash: string, createdAt: number) {
      open();
      const attrs: Partial<Record<DeviceAttr, string | number | readonly string[]>> = { ...input, name: input.name ?? input.id };
      const placeholders = deviceAttrs.map((_, i) => `$${i + 3}`).join(', ');
      const r = await refuseDuplicate(`device ${input.id}`, () => rows(pool,
        `INSERT INTO devices (id, kind, ${deviceAttrs.join(', ')}, created_at, secret_hash)
         VALUES ($1, $2, ${placeholders}, $${deviceAttrs.length + 3}, $${deviceAttrs.length + 4}) RETURNING ${deviceCols}`,
        [input.id, input.kind, ...deviceAttrs.map((a) => value(attrs[a])), createdAt, secretHash],
      ));
      if (!r[0]) throw new Error(`device ${input.id} was not returned by its insert`);
      return rowToDevice(r[0]);
    },
    getDevice,
    async allDevices() {
      open();
      return (await rows(pool, `SELECT ${deviceCols} FROM devices ORDER BY id`)).map(rowToDevice);
    },
    async listDevices(f: DeviceFilter): Promise<Page<Device>> {
      open();
      const w = where();
      for (const key of ['site', 'building', 'kind'] as const) whereEq(w, key, f[key]);
      whereIn(w, 'site', f.sites);
      const { rows: found, total } = await pageOf<Row>(pool, 'devices', deviceCols, w, 'id', f);
      return { items: found.map(rowToDevice), total };
    },
    async updateDevice(id: string, patch: DevicePatch) {
      open();
      // Only known columns, in a fixed order; undefined in a patch means "leave as is".
      const set = deviceAttrs.filter((a) => patch[a] !== undefined);
      if (set.length === 0) return getDevice(id);
      const params: Params = [id, ...set.map((a) => value(patch[a]))];
      const r = await rows(pool, `UPDATE devices SET ${set.map((a, i) => `${a} = $${i + 2}`).join(', ')} WHERE id = $1 RETURNING ${deviceCols}`, params);
      return r[0] ? rowToDevice(r[0]) : undefined;
    },
    async deleteDevice(id) {
      open();
      return ((await pool.query('DELETE FROM devices WHERE id = $1', [id])).rowCount ?? 0) > 0;
    },
    async getDeviceSecretHash(id) {
      open();
      const r = await rows(pool, 'SELECT secret_hash FROM devices WHERE id = $1', [id]);
      return r[0] ? String(r[0].secret_hash) : undefined;
    },
    async setDeviceSecretHash(id, secretHash) {
      open();
      await pool.query('UPDATE devices SET secret_hash = $2 WHERE id = $1', [id, secretHash]);
    },

    async createToken(token, tokenHash) {
      open();
      await refuseDuplicate(`token ${token.id} (or its hash)`, () => pool.query(
        'INSERT INTO api_tokens (id, name, role, created_at, token_hash) VALUES ($1, $2, $3, $4, $5)',
        [token.id, token.name, token.role, token.createdAt, tokenHash],
      ));
    },
    async findTokenByHash(tokenHash) {
      open();
      const r = await rows(pool, 'SELECT id, name, role, created_at FROM api_tokens WHERE token_hash = $1', [tokenHash]);
      return r[0] ? rowToToken(r[0]) : undefined;
    },
    async listTokens() {
      open();
      return (await rows(pool, 'SELECT id, name, role, created_at FROM api_tokens ORDER BY created_at, id')).map(rowToToken);
    },
    async deleteToken(id) {
      open();
      return ((await pool.query('DELETE FROM api_tokens WHERE id = $1', [id])).rowCount ?? 0) > 0;
    },

    close: () => life.release('state'),
  };
}
