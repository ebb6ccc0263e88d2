import type { DuckDBValue } from '@duckdb/node-api';
import { DuplicateError } from '../state/contract.js';
import type { ServiceAccountOrigin, ServiceAccountStore, ServiceAccountWithSecret } from '../service-accounts/contract.js';
import { DatabaseClosedError, toNumber, type SerialConnection } from './connection.js';

/**
 * Service accounts on the embedded database (table `service_accounts`, migration 4), on the state
 * connection: a handful of rows, written only by an admin. Filter lists are stored as JSON text.
 */

type Row = Record<string, DuckDBValue>;

const cols = 'id, publish, subscribe, deny, origin, created_at, secret_set_at, secret_hash';

function filters(v: DuckDBValue): string[] {
  const parsed = JSON.parse(String(v ?? '[]')) as unknown;
  return Array.isArray(parsed) ? parsed.map(String) : [];
}

function rowToAccount(r: Row): ServiceAccountWithSecret {
  return {
    id: String(r.id),
    publish: filters(r.publish ?? null),
    subscribe: filters(r.subscribe ?? null),
    deny: filters(r.deny ?? null),
    origin: String(r.origin) as ServiceAccountOrigin,
    createdAt: toNumber(r.created_at ?? null) ?? 0,
    secretSetAt: toNumber(r.secret_set_at ?? null) ?? 0,
    secretHash: String(r.secret_hash),
  };
}

function params(a: ServiceAccountWithSecret): DuckDBValue[] {
  return [a.id, JSON.stringify(a.publish), JSON.stringify(a.subscribe), JSON.stringify(a.deny), a.origin, BigInt(a.createdAt), BigInt(a.secretSetAt),
    a.secretHash];
}

export function createEmbeddedServiceAccountStore(deps: { conn: SerialConnection; release(): Promise<void> }): ServiceAccountStore {
  const { conn } = deps;
  let closing: Promise<void> | undefined;
  const open = () => {
    if (closing) throw new DatabaseClosedError('embedded service-account store is closed');
  };
  const values = '$1, $2, $3, $4, $5, $6, $7, $8';

  return {
    async create(account) {
      open();
      try {
        await conn.run(`INSERT INTO service_accounts (${cols}) VALUES (${values})`, params(account));
      } catch (err) {
        if (err instanceof Error && /duplicate key/i.test(err.message)) throw new DuplicateError(`service account ${account.id} already exists`, { cause: err });
        throw err;
      }
    },
    async put(account) {
      open();
      await conn.run(
        `INSERT INTO service_accounts (${cols}) VALUES (${values})
         ON CONFLICT (id) DO UPDATE SET publish = excluded.publish, subscribe = excluded.subscribe, deny = excluded.deny,
           origin = excluded.origin, secret_set_at = excluded.secret_set_at, secret_hash = excluded.secret_hash`,
        params(account),
      );
    },
    async get(id) {
      open();
      const rows = await conn.query(`SELECT ${cols} FROM service_accounts WHERE id = $1`, [id]);
      return rows[0] ? rowToAccount(rows[0]) : undefined;
    },
    async all() {
      open();
      return (await conn.query(`SELECT ${cols} FROM service_accounts ORDER BY id`)).map(rowToAccount);
    },
    async setSecretHash(id, secretHash, at) {
      open();
      return (await conn.query('UPDATE service_accounts SET secret_hash = $2, secret_set_at = $3 WHERE id = $1 RETURNING id', [id, secretHash, BigInt(at)])).length > 0;
    },
    async delete(id) {
      open();
      return (await conn.query('DELETE FROM service_accounts WHERE id = $1 RETURNING id', [id])).length > 0;
    },
    close() {
      closing ??= deps.release();
      return closing;
    },
  };
}
