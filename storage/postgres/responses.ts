import type pg from 'pg';
import type { ResponsePolicy } from '../../core/responses.js';
import type { ResponsePolicyStore } from '../responses/contract.js';
import { rows } from './connection.js';
import type { StoreLifecycle } from './lifecycle.js';

/**
 * Response policies on PostgreSQL (table `response_policies`, migration 3), with the embedded
 * store's semantics (storage/embedded/responses.ts): one per site, replaced whole.
 */
export function createPostgresResponsePolicyStore(deps: { pool: pg.Pool; life: StoreLifecycle }): ResponsePolicyStore {
  const { pool, life } = deps;
  const open = () => life.open('response-policy');
  return {
    async all() {
      open();
      return (await rows(pool, 'SELECT site, policy, updated_at, updated_by FROM response_policies ORDER BY site')).map((r) => ({
        site: String(r.site), policy: r.policy as ResponsePolicy, updatedAt: Number(r.updated_at), updatedBy: String(r.updated_by),
      }));
    },
    async put(p) {
      open();
      await pool.query(
        `INSERT INTO response_policies (site, policy, updated_at, updated_by) VALUES ($1, $2, $3, $4)
         ON CONFLICT (site) DO UPDATE SET policy = excluded.policy, updated_at = excluded.updated_at, updated_by = excluded.updated_by`,
        [p.site, JSON.stringify(p.policy), Math.round(p.updatedAt), p.updatedBy],
      );
    },
    async remove(site) {
      open();
      return ((await pool.query('DELETE FROM response_policies WHERE site = $1', [site])).rowCount ?? 0) > 0;
    },
    close: () => life.release('response-policy'),
  };
}
