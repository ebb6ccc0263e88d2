import type { DuckDBValue } from '@duckdb/node-api';
import type { RoleGrant } from '../../core/accounts.js';
import type { AccountRecord, AccountStore, AccountWithPassword } from '../accounts/contract.js';
import { DuplicateError } from '../state/contract.js';
import { DatabaseClosedError, toNumber, type SerialConnection } from './connection.js';

/**
 * People's accounts on the embedded database (table `accounts`, migration 9), on the state
 * connection: a few hundred rows at most, written only by an admin or a password change.
 */

type Row = Record<string, DuckDBValue>;

const cols = 'id, login, display_name, phone, wecom_user_id, dingtalk_user_id, grants, disabled, created_at, updated_at, password_hash, password_set_at';

const text = (v: DuckDBValue | undefined): string | undefined => (v === null || v === undefined ? undefined : String(v));

function rowToAccount(r: Row): AccountWithPassword {
  const optional = {
    phone: text(r.phone), wecomUserId: text(r.wecom_user_id), dingtalkUserId: text(r.dingtalk_user_id),
    passwordHash: text(r.password_hash), passwordSetAt: toNumber(r.password_set_at ?? null),
  };
  return {
    id: String(r.id),
    login: String(r.login),
    displayName: String(r.display_name),
    grants: JSON.parse(String(r.grants)) as RoleGrant[],
    disabled: r.disabled === true,
    createdAt: toNumber(r.created_at ?? null) ?? 0,
    updatedAt: toNumber(r.updated_at ?? null) ?? 0,
    // Absent rather than undefined-valued, so a record reads back equal to what was written.
    ...Object.fromEntries(Object.entries(optional).filter(([, v]) => v !== undefined && v !== null)),
  };
}

const big = (v: number | undefined): DuckDBValue => (v === undefined ? null : BigInt(v));

function fields(a: AccountRecord): DuckDBValue[] {
  return [a.id, a.login, a.displayName, a.phone ?? null, a.wecomUserId ?? null, a.dingtalkUserId ?? null, JSON.stringify(a.grants), a.disabled,
    BigInt(a.createdAt), BigInt(a.updatedAt)];
}

function duplicate(err: unknown, what: string): unknown {
  return err instanceof Error && /duplicate key|unique constraint/i.test(err.message) ? new DuplicateError(`${what} is taken`, { cause: err }) : err;
}

export function createEmbeddedAccountStore(deps: { conn: SerialConnection; release(): Promise<void> }): AccountStore {
  const { conn } = deps;
  let closing: Promise<void> | undefined;
  const open = () => {
    if (closing) throw new DatabaseClosedError('embedded account store is closed');
  };
  const one = async (where: string, v: string) => {
    open();
    const rows = await conn.query(`SELECT ${cols} FROM accounts WHERE ${where} = $1`, [v]);
    return rows[0] ? rowToAccount(rows[0]) : undefined;
  };

  return {
    async create(a) {
      open();
      try {
        await conn.run(`INSERT INTO accounts (${cols}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)`,
          [...fields(a), a.passwordHash ?? null, big(a.passwordSetAt)]);
      } catch (err) {
        throw duplicate(err, `account id ${a.id} or login ${a.login}`);
      }
    },
    async update(a) {
      open();
      try {
        const rows = await conn.query(
          `UPDATE accounts SET login = $2, display_name = $3, phone = $4, wecom_user_id = $5, dingtalk_user_id = $6, grants = $7, disabled = $8,
             updated_at = $9 WHERE id = $1 RETURNING id`,
          [...fields(a).slice(0, 8), BigInt(a.updatedAt)],
        );
        return rows.length > 0;
      } catch (err) {
        throw duplicate(err, `login ${a.login}`);
      }
    },
    get: (id) => one('id', id),
    byLogin: (login) => one('login', login),
    async all() {
      open();
      return (await conn.query(`SELECT ${cols} FROM accounts ORDER BY login`)).map(rowToAccount);
    },
    async setPasswordHash(id, passwordHash, at) {
      open();
      return (await conn.query('UPDATE accounts SET password_hash = $2, password_set_at = $3 WHERE id = $1 RETURNING id', [id, passwordHash, BigInt(at)])).length > 0;
    },
    async delete(id) {
      open();
      return (await conn.query('DELETE FROM accounts WHERE id = $1 RETURNING id', [id])).length > 0;
    },
    close() {
      closing ??= deps.release();
      return closing;
    },
  };
}
