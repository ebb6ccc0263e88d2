import type pg from 'pg';
import { type Command, type CommandName, type CommandStatus } from '../../core/commands.js';
import type { CommandStore } from '../commands/contract.js';
import { pageOf, present, refuseDuplicate, rows, where, whereEq, whereIn } from './connection.js';
import type { StoreLifecycle } from './lifecycle.js';
import { timeColumn } from '../embedded/commands.js';

/**
 * Commands to devices on PostgreSQL (table `commands`; params JSONB), with the embedded store's
 * semantics (storage/embedded/commands.ts). The contract's final-status rule is one conditional
 * UPDATE (`status = ANY(from)`): two replies racing on two nodes cannot both win, since the second
 * UPDATE re-reads the row after the first commits and no longer matches.
 */

const cols = 'id, device, name, params, status, sent_by, created_at, expires_at, sent_at, delivered_at, completed_at, message, state';

function rowToCommand(r: Record<string, unknown>): Command {
  return {
    id: String(r.id), device: String(r.device), name: String(r.name) as CommandName, status: String(r.status) as CommandStatus,
    sentBy: String(r.sent_by), createdAt: Number(r.created_at), expiresAt: Number(r.expires_at),
    ...present({
      params: r.params as Record<string, unknown> | null, sentAt: r.sent_at as number | null, deliveredAt: r.delivered_at as number | null,
      completedAt: r.completed_at as number | null, message: r.message as string | null, state: r.state as string | null,
    }),
  };
}

export function createPostgresCommandStore(deps: { pool: pg.Pool; life: StoreLifecycle }): CommandStore {
  const { pool, life } = deps;
  const open = () => life.open('command');
  return {
    async create(c) {
      open();
      await refuseDuplicate(`command ${c.id}`, () => pool.query(
        `INSERT INTO commands (${cols}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)`,
        [c.id, c.device, c.name, c.params === undefined ? null : JSON.stringify(c.params), c.status, c.sentBy, c.createdAt, c.expiresAt,
          c.sentAt ?? null, c.deliveredAt ?? null, c.completedAt ?? null, c.message ?? null, c.state ?? null],
      ));
    },
    async get(id) {
      open();
      const r = await rows(pool, `SELECT ${cols} FROM commands WHERE id = $1`, [id]);
      return r[0] ? rowToCommand(r[0]) : undefined;
    },
    async list(filter, page) {
      open();
      const w = where();
      whereEq(w, 'device', filter.device);
      whereIn(w, 'device', filter.devices);
      whereEq(w, 'status', filter.status);
      const { rows: found, total } = await pageOf<Record<string, unknown>>(pool, 'commands', cols, w, 'created_at DESC, id DESC', page);
      return { items: found.map(rowToCommand), total };
    },
    async transition(id, from, change) {
      open();
      if (from.length === 0) return undefined;
      const params: unknown[] = [id, change.status, [...from]];
      const sets = ['status = $2'];
      const time = timeColumn(change.status);
      if (time) {
        params.push(change.at);
        sets.push(`${time} = $${params.length}`);
        // A reply proves delivery: a device on a clean session gets no PUBACK-based delivered time.
        if (change.status === 'succeeded' || change.status === 'failed') sets.push(`delivered_at = coalesce(delivered_at, $${params.length})`);
      }
      for (const [col, v] of [['message', change.message], ['state', change.state]] as const) {
        if (v === undefined) continue;
        params.push(v);
        sets.push(`${col} = $${params.length}`);
      }
      const r = await rows(pool, `UPDATE commands SET ${sets.join(', ')} WHERE id = $1 AND status = ANY($3::text[]) RETURNING ${cols}`, params);
      return r[0] ? rowToCommand(r[0]) : undefined;
    },
    async due(now, statuses, limit) {
      open();
      if (statuses.length === 0) return [];
      const r = await rows(pool, `SELECT ${cols} FROM commands WHERE expires_at <= $1 AND status = ANY($2::text[]) ORDER BY expires_at, id LIMIT $3`,
        [now, [...statuses], limit]);
      return r.map(rowToCommand);
    },
    close: () => life.release('command'),
  };
}
