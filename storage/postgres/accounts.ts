import type pg from 'pg';
import type { RoleGrant } from '../../core/accounts.js';
import type { AccountRecord, AccountStore, AccountWithPassword } from '../accounts/contract.js';
import { present, refuseDuplicate, rows } from './connection.js';
import type { StoreLifecycle } from './lifecycle.js';

/**
 * People's accounts on PostgreSQL (table `accounts`; login UNIQUE), with the embedded store's
 * semantics (storage/embedded/accounts.ts); grants are JSONB.
 */

const cols = 'id, login, display_name, phone, wecom_user_id, dingtalk_user_id, grants, disabled, created_at, updated_at, password_hash, password_set_at';

function rowToAccount(r: Record<string, unknown>): AccountWithPassword {
  return {
    id: String(r.id), login: String(r.login), displayName: String(r.display_name), grants: r.grants as RoleGrant[], disabled: r.disabled === true,
    createdAt: Number(r.created_at), updatedAt: Number(r.updated_at),
    // Absent rather than undefined-valued, so a record reads back equal to what was written.
    ...present({
      phone: r.phone as string | null, wecomUserId: r.wecom_user_id as string | null, dingtalkUserId: r.dingtalk_user_id as string | null,
      passwordHash: r.password_hash as string | null, passwordSetAt: r.password_set_at as number | null,
    }),
  };
}

const fields = (a: AccountRecord): unknown[] => [
  a.id, a.login, a.displayName, a.phone ?? null, a.wecomUserId ?? null, a.dingtalkUserId ?? null, JSON.stringify(a.grants), a.disabled,
];

export function createPostgresAccountStore(deps: { pool: pg.Pool; life: StoreLifecycle }): AccountStore {
  const { pool, life } = deps;
  const open = () => life.open('account');
  const one = async (col: 'id' | 'login', v: string) => {
    open();
    const r = await rows(pool, `SELECT ${cols} FROM accounts WHERE ${col} = $1`, [v]);
    return r[0] ? rowToAccount(r[0]) : undefined;
  };
  const changed = (r: pg.QueryResult) => (r.rowCount ?? 0) > 0;
  return {
    async create(a) {
      open();
      await refuseDuplicate(`account id ${a.id} or login ${a.login}`, () => pool.query(
        `INSERT INTO accounts (${cols}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)`,
        [...fields(a), a.createdAt, a.updatedAt, a.passwordHash ?? null, a.passwordSetAt ?? null],
      ));
    },
    async update(a) {
      open();
      return changed(await refuseDuplicate(`login ${a.login}`, () => pool.query(
        `UPDATE accounts SET login = $2, display_name = $3, phone = $4, wecom_user_id = $5, dingtalk_user_id = $6, grants = $7, disabled = $8,
           updated_at = $9 WHERE id = $1`,
        [...fields(a), a.updatedAt],
      )));
    },
    get: (id) => one('id', id),
    byLogin: (login) => one('login', login),
    async all() {
      open();
      return (await rows(pool, `SELECT ${cols} FROM accounts ORDER BY login`)).map(rowToAccount);
    },
    async setPasswordHash(id, passwordHash, at) {
      open();
      return changed(await pool.query('UPDATE accounts SET password_hash = $2, password_set_at = $3 WHERE id = $1', [id, passwordHash, at]));
    },
    async delete(id) {
      open();
      return changed(await pool.query('DELETE FROM accounts WHERE id = $1', [id]));
    },
    close: () => life.release('account'),
  };
}
