import type pg from 'pg';
import type { ReportStore, StoredReportKind, StoredReportMeta } from '../reports/contract.js';
import { ms, pageOf, present, rows, where, whereEq, whereIn } from './connection.js';
import type { StoreLifecycle } from './lifecycle.js';

/**
 * Stored reports on PostgreSQL (table `reports`; the report's data model as JSONB), with the
 * embedded store's semantics (storage/embedded/reports.ts). The scheduler's ids are deterministic,
 * so two nodes saving the same month converge on one row.
 */

const metaCols = ['id', 'kind', 'site', 'from_ts', 'to_ts', 'baseline_from_ts', 'baseline_to_ts', 'created_at', 'origin'] as const;

function rowToMeta(r: Record<string, unknown>): StoredReportMeta {
  return {
    id: String(r.id), kind: String(r.kind) as StoredReportKind, site: String(r.site), from: Number(r.from_ts), to: Number(r.to_ts),
    ...present({ baselineFrom: r.baseline_from_ts as number | null, baselineTo: r.baseline_to_ts as number | null }),
    createdAt: Number(r.created_at), origin: String(r.origin) === 'schedule' ? 'schedule' : 'manual',
  };
}

export function createPostgresReportStore(deps: { pool: pg.Pool; life: StoreLifecycle }): ReportStore {
  const { pool, life } = deps;
  const open = () => life.open('report');
  return {
    async save(r) {
      open();
      await pool.query(
        `INSERT INTO reports (${metaCols.join(', ')}, data) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)
         ON CONFLICT (id) DO UPDATE SET ${[...metaCols.slice(1), 'data'].map((c) => `${c} = excluded.${c}`).join(', ')}`,
        [r.id, r.kind, r.site, ms(r.from), ms(r.to), ms(r.baselineFrom), ms(r.baselineTo), ms(r.createdAt), r.origin, JSON.stringify(r.data)],
      );
    },
    async list(q) {
      open();
      const w = where();
      whereEq(w, 'site', q.site);
      whereIn(w, 'site', q.sites);
      whereEq(w, 'kind', q.kind);
      const { rows: found, total } = await pageOf<Record<string, unknown>>(pool, 'reports', metaCols.join(', '), w, 'to_ts DESC, created_at DESC, id', q);
      return { items: found.map(rowToMeta), total };
    },
    async get(id) {
      open();
      const r = (await rows(pool, `SELECT ${metaCols.join(', ')}, data FROM reports WHERE id = $1`, [id]))[0];
      return r ? { ...rowToMeta(r), data: r.data } : undefined;
    },
    async latestTo(site, kind, origin) {
      open();
      const w = where();
      whereEq(w, 'site', site);
      whereEq(w, 'kind', kind);
      whereEq(w, 'origin', origin);
      const t = (await rows<{ t: number | null }>(pool, `SELECT max(to_ts) AS t FROM reports WHERE ${w.conds.join(' AND ')}`, w.params))[0]?.t;
      return t ?? undefined;
    },
    close: () => life.release('report'),
  };
}
