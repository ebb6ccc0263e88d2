import type pg from 'pg';
import type { ServiceAccountOrigin, ServiceAccountStore, ServiceAccountWithSecret } from '../service-accounts/contract.js';
import { refuseDuplicate, rows } from './connection.js';
import type { StoreLifecycle } from './lifecycle.js';

/**
 * MQTT service accounts on PostgreSQL (table `service_accounts`), with the embedded store's
 * semantics (storage/embedded/service-accounts.ts); filter lists are JSONB.
 */

const cols = 'id, publish, subscribe, deny, origin, created_at, secret_set_at, secret_hash';

const filters = (v: unknown): string[] => (Array.isArray(v) ? v.map(String) : []);

function rowToAccount(r: Record<string, unknown>): ServiceAccountWithSecret {
  return {
    id: String(r.id), publish: filters(r.publish), subscribe: filters(r.subscribe), deny: filters(r.deny), origin: String(r.origin) as ServiceAccountOrigin,
    createdAt: Number(r.created_at), secretSetAt: Number(r.secret_set_at), secretHash: String(r.secret_hash),
  };
}

const params = (a: ServiceAccountWithSecret): unknown[] => [
  a.id, JSON.stringify(a.publish), JSON.stringify(a.subscribe), JSON.stringify(a.deny), a.origin, a.createdAt, a.secretSetAt, a.secretHash,
];

export function createPostgresServiceAccountStore(deps: { pool: pg.Pool; life: StoreLifecycle }): ServiceAccountStore {
  const { pool, life } = deps;
  const open = () => life.open('service-account');
  const insert = `INSERT INTO service_accounts (${cols}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)`;
  return {
    async create(account) {
      open();
      await refuseDuplicate(`service account ${account.id}`, () => pool.query(insert, params(account)));
    },
    async put(account) {
      open();
      await pool.query(
        `${insert} ON CONFLICT (id) DO UPDATE SET publish = excluded.publish, subscribe = excluded.subscribe, deny = excluded.deny,
           origin = excluded.origin, secret_set_at = excluded.secret_set_at, secret_hash = excluded.secret_hash`,
        params(account),
      );
    },
    async get(id) {
      open();
      const r = await rows(pool, `SELECT ${cols} FROM service_accounts WHERE id = $1`, [id]);
      return r[0] ? rowToAccount(r[0]) : undefined;
    },
    async all() {
      open();
      return (await rows(pool, `SELECT ${cols} FROM service_accounts ORDER BY id`)).map(rowToAccount);
    },
    async setSecretHash(id, secretHash, at) {
      open();
      return ((await pool.query('UPDATE service_accounts SET secret_hash = $2, secret_set_at = $3 WHERE id = $1', [id, secretHash, at])).rowCount ?? 0) > 0;
    },
    async delete(id) {
      open();
      return ((await pool.query('DELETE FROM service_accounts WHERE id = $1', [id])).rowCount ?? 0) > 0;
    },
    close: () => life.release('service-account'),
  };
}
