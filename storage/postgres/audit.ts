import type pg from 'pg';
import type { StoredAuditEntry } from '../../core/audit.js';
import type { AuditFilter, AuditStore } from '../audit/contract.js';
import { pageOf, present, where, whereEq, type Where } from './connection.js';
import { pruneBefore } from './keyed-log.js';
import type { StoreLifecycle } from './lifecycle.js';

/**
 * The audit trail on PostgreSQL (table `audit_log`, append-only, seq an identity column), with the
 * embedded store's semantics (storage/embedded/audit.ts): newest first by time, then seq.
 */

const cols = 'seq, ts, actor, actor_name, role, action, target, ip, method, path, status';

function rowToEntry(r: Record<string, unknown>): StoredAuditEntry {
  return {
    seq: Number(r.seq), ts: Number(r.ts), actor: String(r.actor), actorName: String(r.actor_name), role: String(r.role), action: String(r.action),
    ...present({ target: r.target as string | null }), ip: String(r.ip), method: String(r.method), path: String(r.path), status: Number(r.status),
  };
}

function filterOf(f: AuditFilter): Where {
  const w = where();
  whereEq(w, 'actor', f.actor);
  if (f.action !== undefined && f.action.endsWith('.')) {
    w.params.push(f.action);
    w.conds.push(`starts_with(action, $${w.params.length})`);
  } else {
    whereEq(w, 'action', f.action);
  }
  for (const [cond, v] of [['ts >=', f.from], ['ts <', f.to]] as const) {
    if (v === undefined) continue;
    w.params.push(v);
    w.conds.push(`${cond} $${w.params.length}`);
  }
  return w;
}

export function createPostgresAuditStore(deps: { pool: pg.Pool; life: StoreLifecycle }): AuditStore {
  const { pool, life } = deps;
  const open = () => life.open('audit');
  return {
    async record(e) {
      open();
      await pool.query(
        'INSERT INTO audit_log (ts, actor, actor_name, role, action, target, ip, method, path, status) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)',
        [e.ts, e.actor, e.actorName, e.role, e.action, e.target ?? null, e.ip, e.method, e.path, e.status],
      );
    },
    async query(f) {
      open();
      const { rows: found, total } = await pageOf<Record<string, unknown>>(pool, 'audit_log', cols, filterOf(f), 'ts DESC, seq DESC',
        { limit: Math.trunc(f.limit), offset: Math.trunc(f.offset) });
      return { items: found.map(rowToEntry), total };
    },
    async prune(beforeTs) {
      open();
      return pruneBefore(pool, 'audit_log', beforeTs);
    },
    close: () => life.release('audit'),
  };
}
