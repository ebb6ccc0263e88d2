import type { DuckDBValue } from '@duckdb/node-api';
import { isFinalStatus, type Command, type CommandName, type CommandStatus } from '../../core/commands.js';
import type { CommandStore } from '../commands/contract.js';
import { DuplicateError } from '../state/contract.js';
import { DatabaseClosedError, toNumber, toStringOrUndefined, type SerialConnection } from './connection.js';
import { inList } from './sql.js';

/**
 * Commands on the embedded database (table `commands`, migration 8), on the state connection: a
 * few per incident or operator action, never a stream. Params are stored as JSON text. The final
 * status rule of the contract is one conditional UPDATE (`status IN (...)`), so two replies racing
 * on the serial connection cannot both win.
 */

type Row = Record<string, DuckDBValue>;

const cols = 'id, device, name, params, status, sent_by, created_at, expires_at, sent_at, delivered_at, completed_at, message, state';

function rowToCommand(r: Row): Command {
  const opt = (k: string, v: number | string | null | undefined) => (v === null || v === undefined ? {} : { [k]: v });
  const params = toStringOrUndefined(r.params ?? null);
  return {
    id: String(r.id), device: String(r.device), name: String(r.name) as CommandName, status: String(r.status) as CommandStatus,
    sentBy: String(r.sent_by), createdAt: toNumber(r.created_at ?? null) ?? 0, expiresAt: toNumber(r.expires_at ?? null) ?? 0,
    ...(params !== undefined ? { params: JSON.parse(params) as Record<string, unknown> } : {}),
    ...opt('sentAt', toNumber(r.sent_at ?? null)), ...opt('deliveredAt', toNumber(r.delivered_at ?? null)),
    ...opt('completedAt', toNumber(r.completed_at ?? null)),
    ...opt('message', toStringOrUndefined(r.message ?? null)), ...opt('state', toStringOrUndefined(r.state ?? null)),
  };
}

/** Which column records the time of reaching `status`. */
export function timeColumn(status: CommandStatus): string | undefined {
  if (status === 'sent') return 'sent_at';
  if (status === 'delivered') return 'delivered_at';
  return isFinalStatus(status) ? 'completed_at' : undefined;
}

const big = (v: number | undefined): DuckDBValue => (v === undefined ? null : BigInt(v));
const str = (v: string | undefined): DuckDBValue => (v === undefined ? null : v);

export function createEmbeddedCommandStore(deps: { conn: SerialConnection; release(): Promise<void> }): CommandStore {
  const { conn } = deps;
  let closing: Promise<void> | undefined;
  const open = () => {
    if (closing) throw new DatabaseClosedError('embedded command store is closed');
  };

  const where = (filter: { device?: string; devices?: readonly string[]; status?: CommandStatus }) => {
    const clauses: string[] = [];
    const params: DuckDBValue[] = [];
    if (filter.device !== undefined) {
      params.push(filter.device);
      clauses.push(`device = $${params.length}`);
    }
    if (filter.devices !== undefined) clauses.push(filter.devices.length === 0 ? 'FALSE' : inList('device', filter.devices, params));
    if (filter.status !== undefined) {
      params.push(filter.status);
      clauses.push(`status = $${params.length}`);
    }
    return { sql: clauses.length ? `WHERE ${clauses.join(' AND ')}` : '', params };
  };

  return {
    async create(c) {
      open();
      try {
        await conn.run(`INSERT INTO commands (${cols}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)`, [
          c.id, c.device, c.name, c.params === undefined ? null : JSON.stringify(c.params), c.status, c.sentBy, BigInt(c.createdAt), BigInt(c.expiresAt),
          big(c.sentAt), big(c.deliveredAt), big(c.completedAt), str(c.message), str(c.state),
        ]);
      } catch (err) {
        if (err instanceof Error && /duplicate key/i.test(err.message)) throw new DuplicateError(`command ${c.id} already exists`, { cause: err });
        throw err;
      }
    },
    async get(id) {
      open();
      const rows = await conn.query(`SELECT ${cols} FROM commands WHERE id = $1`, [id]);
      return rows[0] ? rowToCommand(rows[0]) : undefined;
    },
    async list(filter, page) {
      open();
      const w = where(filter);
      const total = await conn.query(`SELECT count(*) AS n FROM commands ${w.sql}`, w.params);
      const n = w.params.length;
      const rows = await conn.query(
        `SELECT ${cols} FROM commands ${w.sql} ORDER BY created_at DESC, id DESC LIMIT $${n + 1} OFFSET $${n + 2}`,
        [...w.params, BigInt(page.limit), BigInt(page.offset)],
      );
      return { items: rows.map(rowToCommand), total: toNumber(total[0]?.n ?? null) ?? 0 };
    },
    async transition(id, from, change) {
      open();
      if (from.length === 0) return undefined;
      const params: DuckDBValue[] = [id, change.status];
      const sets = ['status = $2'];
      const time = timeColumn(change.status);
      if (time) {
        params.push(BigInt(change.at));
        sets.push(`${time} = $${params.length}`);
        // A reply proves delivery: a device on a clean session gets no PUBACK-based delivered time.
        if (change.status === 'succeeded' || change.status === 'failed') sets.push(`delivered_at = coalesce(delivered_at, $${params.length})`);
      }
      for (const [col, v] of [['message', change.message], ['state', change.state]] as const) {
        if (v === undefined) continue;
        params.push(v);
        sets.push(`${col} = $${params.length}`);
      }
      const inList = from.map((s) => {
        params.push(s);
        return `$${params.length}`;
      });
      const rows = await conn.query(`UPDATE commands SET ${sets.join(', ')} WHERE id = $1 AND status IN (${inList.join(', ')}) RETURNING ${cols}`, params);
      return rows[0] ? rowToCommand(rows[0]) : undefined;
    },
    async due(now, statuses, limit) {
      open();
      if (statuses.length === 0) return [];
      const params: DuckDBValue[] = [BigInt(now), BigInt(limit), ...statuses];
      const rows = await conn.query(
        `SELECT ${cols} FROM commands WHERE expires_at <= $1 AND status IN (${statuses.map((_, i) => `$${i + 3}`).join(', ')})
         ORDER BY expires_at, id LIMIT $2`,
        params,
      );
      return rows.map(rowToCommand);
    },
    close() {
      closing ??= deps.release();
      return closing;
    },
  };
}
