import type { DuckDBValue } from '@duckdb/node-api';
import type { StoredAuditEntry } from '../../core/audit.js';
import type { AuditFilter, AuditStore } from '../audit/contract.js';
import { DatabaseClosedError, toNumber, type SerialConnection } from './connection.js';

/**
 * The audit trail on the embedded database (table `audit_log`, migration 9), on the state
 * connection: one small insert per change a person or integration makes, never on the telemetry
 * path.
 */

const cols = 'seq, ts, actor, actor_name, role, action, target, ip, method, path, status';

function rowToEntry(r: Record<string, DuckDBValue>): StoredAuditEntry {
  return {
    seq: toNumber(r.seq ?? null) ?? 0, ts: toNumber(r.ts ?? null) ?? 0, actor: String(r.actor), actorName: String(r.actor_name), role: String(r.role),
    action: String(r.action), ...(r.target !== null && r.target !== undefined ? { target: String(r.target) } : {}), ip: String(r.ip),
    method: String(r.method), path: String(r.path), status: Number(r.status),
  };
}

function where(f: AuditFilter): { sql: string; params: DuckDBValue[] } {
  const parts: string[] = [];
  const params: DuckDBValue[] = [];
  const add = (sql: string, v: DuckDBValue) => {
    params.push(v);
    parts.push(sql.replace('?', `$${params.length}`));
  };
  if (f.actor !== undefined) add('actor = ?', f.actor);
  if (f.action !== undefined) {
    if (f.action.endsWith('.')) add('starts_with(action, ?)', f.action);
    else add('action = ?', f.action);
  }
  if (f.from !== undefined) add('ts >= ?', BigInt(f.from));
  if (f.to !== undefined) add('ts < ?', BigInt(f.to));
  return { sql: parts.length > 0 ? `WHERE ${parts.join(' AND ')}` : '', params };
}

export function createEmbeddedAuditStore(deps: { conn: SerialConnection; release(): Promise<void> }): AuditStore {
  const { conn } = deps;
  let closing: Promise<void> | undefined;
  const open = () => {
    if (closing) throw new DatabaseClosedError('embedded audit store is closed');
  };
  return {
    async record(e) {
      open();
      await conn.run(`INSERT INTO audit_log (ts, actor, actor_name, role, action, target, ip, method, path, status) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)`,
        [BigInt(e.ts), e.actor, e.actorName, e.role, e.action, e.target ?? null, e.ip, e.method, e.path, e.status]);
    },
    async query(f) {
      open();
      const w = where(f);
      const total = Number((await conn.query(`SELECT count(*) AS n FROM audit_log ${w.sql}`, w.params))[0]?.n ?? 0);
      const rows = await conn.query(`SELECT ${cols} FROM audit_log ${w.sql} ORDER BY ts DESC, seq DESC LIMIT ${Math.trunc(f.limit)} OFFSET ${Math.trunc(f.offset)}`, w.params);
      return { items: rows.map(rowToEntry), total };
    },
    async prune(beforeTs) {
      open();
      return (await conn.query('DELETE FROM audit_log WHERE ts < $1 RETURNING seq', [BigInt(beforeTs)])).length;
    },
    close() {
      closing ??= deps.release();
      return closing;
    },
  };
}
