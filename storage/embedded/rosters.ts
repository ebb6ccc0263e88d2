import type { DuckDBValue } from '@duckdb/node-api';
import type { Roster } from '../../core/roster.js';
import type { RosterStore, StoredRoster } from '../rosters/contract.js';
import { DatabaseClosedError, toNumber, type SerialConnection } from './connection.js';
import { rows } from './sql.js';

/**
 * Rosters on the embedded database (table `roster_versions`, migration 11), on the state
 * connection. Insert-only: each change is a new row (site, version), the current roster the
 * highest version — history for free, and no UPDATE of a keyed row (which DuckDB checks eagerly).
 */

const cols = 'site, version, roster, updated_at, updated_by';

function rowToStored(r: Record<string, DuckDBValue>): StoredRoster {
  return {
    roster: JSON.parse(String(r.roster)) as Roster, version: Number(r.version), updatedAt: toNumber(r.updated_at ?? null) ?? 0, updatedBy: String(r.updated_by),
  };
}

export function createEmbeddedRosterStore(deps: { conn: SerialConnection; release(): Promise<void> }): RosterStore {
  const { conn } = deps;
  let closing: Promise<void> | undefined;
  const open = () => {
    if (closing) throw new DatabaseClosedError('embedded roster store is closed');
  };
  return {
    async get(site) {
      open();
      const r = await conn.query(`SELECT ${cols} FROM roster_versions WHERE site = $1 ORDER BY version DESC LIMIT 1`, [site]);
      return r[0] ? rowToStored(r[0]) : undefined;
    },
    async put(roster, updatedBy, at) {
      open();
      // Read and insert in one transaction on the serial connection: two changes cannot take one version.
      return conn.transaction(async (c) => {
        const last = await rows(c, 'SELECT coalesce(max(version), 0) AS v FROM roster_versions WHERE site = $1', [roster.site]);
        const version = Number(last[0]?.v ?? 0) + 1;
        await rows(c, `INSERT INTO roster_versions (${cols}) VALUES ($1, $2, $3, $4, $5)`, [roster.site, version, JSON.stringify(roster), BigInt(at), updatedBy]);
        return { roster, version, updatedAt: at, updatedBy };
      });
    },
    async history(site, limit) {
      open();
      return (await conn.query(`SELECT ${cols} FROM roster_versions WHERE site = $1 ORDER BY version DESC LIMIT $2`, [site, BigInt(limit)])).map(rowToStored);
    },
    close() {
      closing ??= deps.release();
      return closing;
    },
  };
}
