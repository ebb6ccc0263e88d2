import type { ResponsePolicy } from '../../core/responses.js';
import type { ResponsePolicyStore } from '../responses/contract.js';
import { DatabaseClosedError, toNumber, type SerialConnection } from './connection.js';

/** Response policies on the embedded database (table `response_policies`, migration 12), on the state connection. */
export function createEmbeddedResponsePolicyStore(deps: { conn: SerialConnection; release(): Promise<void> }): ResponsePolicyStore {
  const { conn } = deps;
  let closing: Promise<void> | undefined;
  const open = () => {
    if (closing) throw new DatabaseClosedError('embedded response policy store is closed');
  };
  return {
    async all() {
      open();
      const rows = await conn.query('SELECT site, policy, updated_at, updated_by FROM response_policies ORDER BY site');
      return rows.map((r) => ({
        site: String(r.site), policy: JSON.parse(String(r.policy)) as ResponsePolicy,
        updatedAt: toNumber(r.updated_at ?? null) ?? 0, updatedBy: String(r.updated_by),
      }));
    },
    async put(p) {
      open();
      await conn.run(
        `INSERT INTO response_policies (site, policy, updated_at, updated_by) VALUES ($1, $2, $3, $4)
         ON CONFLICT (site) DO UPDATE SET policy = excluded.policy, updated_at = excluded.updated_at, updated_by = excluded.updated_by`,
        [p.site, JSON.stringify(p.policy), BigInt(p.updatedAt), p.updatedBy],
      );
    },
    async remove(site) {
      open();
      return (await conn.query('DELETE FROM response_policies WHERE site = $1 RETURNING site', [site])).length > 0;
    },
    close() {
      closing ??= deps.release();
      return closing;
    },
  };
}
