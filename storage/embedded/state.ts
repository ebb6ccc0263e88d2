import type { DuckDBValue } from '@duckdb/node-api';
import type { Building, Device, DeviceInput, DevicePatch, Site, SitePatch } from '../../core/index.js';
import { DuplicateError, type ApiToken, type DeviceFilter, type Page, type PageQuery, type Role, type StateStore } from '../state/contract.js';
import { DatabaseClosedError, toNumber, toStringOrUndefined, type SerialConnection } from './connection.js';
import { inList } from './sql.js';

/** Device columns other than id, kind, created_at and secret_hash, in table order; all patchable. */
const deviceAttrs = ['site', 'building', 'name', 'location', 'category', 'purpose', 'rated_current', 'q3', 'parent', 'report_interval_s', 'connection', 'capabilities'] as const;
const numericAttrs: ReadonlySet<string> = new Set(['rated_current', 'q3', 'report_interval_s']);
type DeviceAttr = (typeof deviceAttrs)[number];

/** Never `SELECT *` a device: the secret hash stays in the table unless asked for by name. */
const deviceCols = `id, kind, ${deviceAttrs.join(', ')}, created_at`;

type Row = Record<string, DuckDBValue>;

function rowToDevice(r: Row): Device {
  const d: Record<string, unknown> = { id: String(r.id), kind: String(r.kind), name: String(r.name), createdAt: toNumber(r.created_at ?? null) };
  for (const a of deviceAttrs) {
    if (a === 'name') continue;
    const v = r[a];
    if (v === null || v === undefined) continue;
    d[a] = numericAttrs.has(a) ? toNumber(v) : a === 'capabilities' ? JSON.parse(String(v)) as unknown : String(v);
  }
  return d as Device;
}

function rowToSite(r: Row): Site {
  const address = toStringOrUndefined(r.address ?? null);
  const gridRegion = toStringOrUndefined(r.grid_region ?? null) as Site['gridRegion'];
  return {
    id: String(r.id), name: String(r.name), ...(address !== undefined ? { address } : {}), timezone: String(r.timezone),
    ...(gridRegion !== undefined ? { gridRegion } : {}),
  };
}

function rowToBuilding(r: Row): Building {
  const floors = toNumber(r.floors ?? null);
  return { id: String(r.id), site: String(r.site), name: String(r.name), ...(floors !== null ? { floors } : {}) };
}

function rowToToken(r: Row): ApiToken {
  return { id: String(r.id), name: String(r.name), role: String(r.role) as Role, createdAt: toNumber(r.created_at ?? null) as number };
}

/** DuckDB: `Constraint Error: Duplicate key "id: a" violates primary key constraint.` (NOT NULL failures are not duplicates). */
function isDuplicateKey(err: unknown): boolean {
  return err instanceof Error && /duplicate key/i.test(err.message);
}

function page(p: PageQuery): [bigint, bigint] {
  if (!Number.isSafeInteger(p.limit) || p.limit < 0 || !Number.isSafeInteger(p.offset) || p.offset < 0) {
    throw new RangeError('limit and offset must be non-negative integers');
  }
  return [BigInt(p.limit), BigInt(p.offset)];
}

// Capabilities, the one list attribute, as JSON text.
const value = (v: string | number | readonly string[] | undefined): DuckDBValue => (v === undefined ? null : typeof v === 'object' ? JSON.stringify(v) : v);

export interface EmbeddedStateDeps {
  conn: SerialConnection;
  release(): Promise<void>;
  /** Told about every site written (the telemetry writer keeps site zones for its daily rollups). */
  onSite?(site: Site): void;
}

/** The StateStore on the embedded database. Every call is one statement or one transaction on its own connection. */
export function createEmbeddedStateStore(deps: EmbeddedStateDeps): StateStore {
  const { conn } = deps;
  let closed = false;
  let closing: Promise<void> | undefined;
  const open = () => {
    if (closed) throw new DatabaseClosedError('embedded state store is closed');
  };

  const upsertSite = async (site: Site): Promise<void> => {
    open();
    await conn.run(
      `INSERT INTO sites (id, name, address, timezone, grid_region) VALUES ($1, $2, $3, $4, $5)
       ON CONFLICT (id) DO UPDATE SET name = excluded.name, address = excluded.address, timezone = excluded.timezone, grid_region = excluded.grid_region`,
      [site.id, site.name, value(site.address), site.timezone, value(site.gridRegion)],
    );
    deps.onSite?.(site);
  };
  const getSite = async (id: string): Promise<Site | undefined> => {
    open();
    const rows = await conn.query('SELECT * FROM sites WHERE id = $1', [id]);
    return rows[0] ? rowToSite(rows[0]) : undefined;
  };

  const getDevice = async (id: string): Promise<Device | undefined> => {
    open();
    const rows = await conn.query(`SELECT ${deviceCols} FROM devices WHERE id = $1`, [id]);
    return rows[0] ? rowToDevice(rows[0]) : undefined;
  };

  return {
    upsertSite,
    async updateSite(id, patch: SitePatch) {
      const current = await getSite(id);
      if (!current) return undefined;
      const { gridRegion, ...rest } = patch;
      const next: Site = { ...current, ...rest };
      if (gridRegion === null) delete next.gridRegion;
      else if (gridRegion !== undefined) next.gridRegion = gridRegion;
      await upsertSite(next);
      return next;
    },
    getSite,
    async listSites(p) {
      open();
      const [limit, offset] = page(p);
      const params: DuckDBValue[] = [];
      const cond = p.ids === undefined ? '' : p.ids.length === 0 ? 'WHERE FALSE' : `WHERE ${inList('id', p.ids, params)}`;
      const rows = await conn.query(`SELECT *, count(*) OVER () AS total FROM sites ${cond} ORDER BY id LIMIT $${params.length + 1} OFFSET $${params.length + 2}`,
        [...params, limit, offset]);
      return { items: rows.map(rowToSite), total: await totalOf(rows, `SELECT count(*) AS n FROM sites ${cond}`, params) };
    },
    async upsertBuilding(b) {
      open();
      await conn.run(
        `INSERT INTO buildings (site, id, name, floors) VALUES ($1, $2, $3, $4)
         ON CONFLICT (site, id) DO UPDATE SET name = excluded.name, floors = excluded.floors`,
        [b.site, b.id, b.name, value(b.floors)],
      );
    },
    async listBuildings(site, p) {
      open();
      const [limit, offset] = page(p);
      const rows = await conn.query('SELECT *, count(*) OVER () AS total FROM buildings WHERE site = $1 ORDER BY id LIMIT $2 OFFSET $3', [site, limit, offset]);
      return { items: rows.map(rowToBuilding), total: await totalOf(rows, 'SELECT count(*) AS n FROM buildings WHERE site = $1', [site]) };
    },

    async createDevice(input: DeviceInput, secretHash: string, createdAt: number) {
      open();
      const attrs: Partial<Record<DeviceAttr, string | number | readonly string[]>> = { ...input, name: input.name ?? input.id };
      try {
        await conn.run(
          `INSERT INTO devices (id, kind, ${deviceAttrs.join(', ')}, created_at, secret_hash)
           VALUES ($1, $2, ${deviceAttrs.map((_, i) => `$${i + 3}`).join(', ')}, $${deviceAttrs.length + 3}, $${deviceAttrs.length + 4})`,
          [input.id, input.kind, ...deviceAttrs.map((a) => value(attrs[a])), BigInt(createdAt), secretHash],
        );
      } catch (err) {
        if (isDuplicateKey(err)) throw new DuplicateError(`device ${input.id} already exists`, { cause: err });
        throw err;
      }
      const created = await getDevice(input.id);
      if (!created) throw new Error(`device ${input.id} vanished right after it was created`);
      return created;
    },
    getDevice,
    async allDevices() {
      open();
      return (await conn.query(`SELECT ${deviceCols} FROM devices ORDER BY id`)).map(rowToDevice);
    },
    async listDevices(f: DeviceFilter): Promise<Page<Device>> {
      open();
      const [limit, offset] = page(f);
      const params: DuckDBValue[] = [];
      const where: string[] = [];
      for (const key of ['site', 'building', 'kind'] as const) {
        const v = f[key];
        if (v === undefined) continue;
        params.push(v);
        where.push(`${key} = $${params.length}`);
      }
      if (f.sites !== undefined) where.push(f.sites.length === 0 ? 'FALSE' : inList('site', f.sites, params));
      const cond = where.length ? `WHERE ${where.join(' AND ')}` : '';
      const rows = await conn.query(
        `SELECT ${deviceCols}, count(*) OVER () AS total FROM devices ${cond} ORDER BY id LIMIT $${params.length + 1} OFFSET $${params.length + 2}`,
        [...params, limit, offset],
      );
      return { items: rows.map(rowToDevice), total: await totalOf(rows, `SELECT count(*) AS n FROM devices ${cond}`, params) };
    },
    async updateDevice(id: string, patch: DevicePatch) {
      open();
      // Only known columns, in a fixed order; undefined in a patch means "leave as is".
      const set = deviceAttrs.filter((a) => patch[a] !== undefined);
      if (set.length > 0) {
        await conn.run(
          `UPDATE devices SET ${set.map((a, i) => `${a} = $${i + 2}`).join(', ')} WHERE id = $1`,
          [id, ...set.map((a) => value(patch[a]))],
        );
      }
      return getDevice(id);
    },
    async deleteDevice(id) {
      open();
      const rows = await conn.query('DELETE FROM devices WHERE id = $1 RETURNING id', [id]);
      return rows.length > 0;
    },
    async getDeviceSecretHash(id) {
      open();
      const rows = await conn.query('SELECT secret_hash FROM devices WHERE id = $1', [id]);
      return rows[0] ? String(rows[0].secret_hash) : undefined;
    },
    async setDeviceSecretHash(id, secretHash) {
      open();
      await conn.run('UPDATE devices SET secret_hash = $2 WHERE id = $1', [id, secretHash]);
    },

    async createToken(token, tokenHash) {
      open();
      try {
        await conn.run('INSERT INTO api_tokens (id, name, role, created_at, token_hash) VALUES ($1, $2, $3, $4, $5)', [
          token.id, token.name, token.role, BigInt(token.createdAt), tokenHash,
        ]);
      } catch (err) {
        if (isDuplicateKey(err)) throw new DuplicateError(`token ${token.id} (or its hash) already exists`, { cause: err });
        throw err;
      }
    },
    async findTokenByHash(tokenHash) {
      open();
      const rows = await conn.query('SELECT id, name, role, created_at FROM api_tokens WHERE token_hash = $1', [tokenHash]);
      return rows[0] ? rowToToken(rows[0]) : undefined;
    },
    async listTokens() {
      open();
      return (await conn.query('SELECT id, name, role, created_at FROM api_tokens ORDER BY created_at, id')).map(rowToToken);
    },
    async deleteToken(id) {
      open();
      return (await conn.query('DELETE FROM api_tokens WHERE id = $1 RETURNING id', [id])).length > 0;
    },

    close() {
      closed = true;
      closing ??= deps.release();
      return closing;
    },
  };

  /** The window count rides on the page's rows; an empty page (offset past the end) needs its own count. */
  async function totalOf(rows: Row[], countSql: string, params: DuckDBValue[]): Promise<number> {
    if (rows[0]) return toNumber(rows[0].total ?? null) ?? 0;
    const r = await conn.query(countSql, params);
    return toNumber(r[0]?.n ?? null) ?? 0;
  }
}
