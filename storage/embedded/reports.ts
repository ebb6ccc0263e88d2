import type { DuckDBValue } from '@duckdb/node-api';
import type { ReportStore, StoredReportKind, StoredReportMeta } from '../reports/contract.js';
import { DatabaseClosedError, toNumber, type SerialConnection } from './connection.js';
import { inList } from './sql.js';

/**
 * Stored reports (table `reports`, migration 3): the monthly reports the scheduler generates, kept
 * so `GET /api/reports` can list them and `GET /api/reports/{id}` re-render them in any format and
 * language. The report itself is stored as its JSON data model (`data`, text: no JSON extension
 * needed); rendering happens on read, so a stored report can be printed in a language nobody asked
 * for when it was made. Times are epoch ms, like every other table.
 *
 * Runs on the state connection (small, rare writes on a table nothing else touches).
 */

type Row = Record<string, DuckDBValue>;

const metaCols = ['id', 'kind', 'site', 'from_ts', 'to_ts', 'baseline_from_ts', 'baseline_to_ts', 'created_at', 'origin'] as const;

const big = (n: number | undefined): DuckDBValue => (n === undefined ? null : BigInt(Math.round(n)));

function rowToMeta(r: Row): StoredReportMeta {
  const bf = toNumber(r.baseline_from_ts ?? null);
  const bt = toNumber(r.baseline_to_ts ?? null);
  return {
    id: String(r.id),
    kind: String(r.kind) as StoredReportKind,
    site: String(r.site),
    from: toNumber(r.from_ts ?? null) ?? 0,
    to: toNumber(r.to_ts ?? null) ?? 0,
    ...(bf !== null ? { baselineFrom: bf } : {}),
    ...(bt !== null ? { baselineTo: bt } : {}),
    createdAt: toNumber(r.created_at ?? null) ?? 0,
    origin: String(r.origin) === 'schedule' ? 'schedule' : 'manual',
  };
}

export function createEmbeddedReportStore(deps: { conn: SerialConnection; release(): Promise<void> }): ReportStore {
  const { conn } = deps;
  let closed = false;
  let closing: Promise<void> | undefined;
  const open = () => {
    if (closed) throw new DatabaseClosedError('embedded report store is closed');
  };

  return {
    async save(r) {
      open();
      await conn.query(
        `INSERT INTO reports (${metaCols.join(', ')}, data) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)
         ON CONFLICT (id) DO UPDATE SET kind = excluded.kind, site = excluded.site, from_ts = excluded.from_ts, to_ts = excluded.to_ts,
           baseline_from_ts = excluded.baseline_from_ts, baseline_to_ts = excluded.baseline_to_ts, created_at = excluded.created_at,
           origin = excluded.origin, data = excluded.data`,
        [r.id, r.kind, r.site, big(r.from), big(r.to), big(r.baselineFrom), big(r.baselineTo), big(r.createdAt), r.origin, JSON.stringify(r.data)],
      );
    },
    async list(q) {
      open();
      if (!Number.isSafeInteger(q.limit) || q.limit < 0 || !Number.isSafeInteger(q.offset) || q.offset < 0) {
        throw new RangeError('limit and offset must be non-negative integers');
      }
      const where: string[] = [];
      const params: DuckDBValue[] = [];
      if (q.site !== undefined) {
        params.push(q.site);
        where.push(`site = $${params.length}`);
      }
      if (q.sites !== undefined) where.push(q.sites.length === 0 ? 'FALSE' : inList('site', q.sites, params));
      if (q.kind !== undefined) {
        params.push(q.kind);
        where.push(`kind = $${params.length}`);
      }
      const cond = where.length ? `WHERE ${where.join(' AND ')}` : '';
      const total = toNumber((await conn.query(`SELECT count(*) AS n FROM reports ${cond}`, params))[0]?.n ?? null) ?? 0;
      const rows = await conn.query(
        `SELECT ${metaCols.join(', ')} FROM reports ${cond} ORDER BY to_ts DESC, created_at DESC, id LIMIT ${q.limit} OFFSET ${q.offset}`,
        params,
      );
      return { items: rows.map(rowToMeta), total };
    },
    async get(id) {
      open();
      const r = (await conn.query(`SELECT ${metaCols.join(', ')}, data FROM reports WHERE id = $1`, [id]))[0];
      return r ? { ...rowToMeta(r), data: JSON.parse(String(r.data)) as unknown } : undefined;
    },
    async latestTo(site, kind, origin) {
      open();
      const params: DuckDBValue[] = [site, kind];
      let extra = '';
      if (origin) {
        params.push(origin);
        extra = ' AND origin = $3';
      }
      const r = await conn.query(`SELECT max(to_ts) AS t FROM reports WHERE site = $1 AND kind = $2${extra}`, params);
      return toNumber(r[0]?.t ?? null) ?? undefined;
    },
    close() {
      closed = true;
      closing ??= deps.release();
      return closing;
    },
  };
}
