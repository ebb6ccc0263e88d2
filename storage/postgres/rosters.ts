import type pg from 'pg';
import type { Roster } from '../../core/roster.js';
import type { RosterStore, StoredRoster } from '../rosters/contract.js';
import { rows, transaction } from './connection.js';
import type { StoreLifecycle } from './lifecycle.js';

/**
 * Rosters on PostgreSQL (table `roster_versions`, migration 3), with the embedded store's semantics
 * (storage/embedded/rosters.ts): insert-only, the current roster the highest version. Two nodes
 * saving one site's roster at once are serialized by an advisory lock on the site; the primary key
 * (site, version) is the backstop.
 */

const cols = 'site, version, roster, updated_at, updated_by';

function rowToStored(r: Record<string, unknown>): StoredRoster {
  return { roster: r.roster as Roster, version: Number(r.version), updatedAt: Number(r.updated_at), updatedBy: String(r.updated_by) };
}

export function createPostgresRosterStore(deps: { pool: pg.Pool; life: StoreLifecycle }): RosterStore {
  const { pool, life } = deps;
  const open = () => life.open('roster');
  return {
    async get(site) {
      open();
      const r = await rows(pool, `SELECT ${cols} FROM roster_versions WHERE site = $1 ORDER BY version DESC LIMIT 1`, [site]);
      return r[0] ? rowToStored(r[0]) : undefined;
    },
    async put(roster, updatedBy, at) {
      open();
      return transaction(pool, async (c) => {
        // Saves of one site's roster queue on a transaction-scoped advisory lock (whichever node they
        // come from), so each reads the version the previous one committed: gap-free, none lost.
        await c.query(`SELECT pg_advisory_xact_lock(hashtext('anju.roster:' || $1))`, [roster.site]);
        const last = await rows<{ v: number }>(c, 'SELECT coalesce(max(version), 0) AS v FROM roster_versions WHERE site = $1', [roster.site]);
        const version = Number(last[0]?.v ?? 0) + 1;
        await c.query(`INSERT INTO roster_versions (${cols}) VALUES ($1, $2, $3, $4, $5)`,
          [roster.site, version, JSON.stringify(roster), Math.round(at), updatedBy]);
        return { roster, version, updatedAt: at, updatedBy };
      });
    },
    async history(site, limit) {
      open();
      return (await rows(pool, `SELECT ${cols} FROM roster_versions WHERE site = $1 ORDER BY version DESC LIMIT $2`, [site, limit])).map(rowToStored);
    },
    close: () => life.release('roster'),
  };
}
