import type { Roster } from '../../core/roster.js';

/**
 * The RosterStore contract: one on-call roster (值班表, core/roster.ts) per site, every version
 * kept — a roster is a few kilobytes changed a few times a month, so "who was on duty last
 * Tuesday" costs nothing to answer later. Implemented on the embedded DuckDB state store
 * (storage/embedded/rosters.ts, migration 11); a PostgreSQL one for cluster mode must pass the
 * same suite (test/storage/rosters.contract.ts).
 */

export interface StoredRoster {
  readonly roster: Roster;
  /** 1 for a site's first roster, one more for each change. */
  readonly version: number;
  /** Epoch ms of the change. */
  readonly updatedAt: number;
  /** Who made it (the principal's name). */
  readonly updatedBy: string;
}

export interface RosterStore {
  /** The site's current roster, undefined when it has none. */
  get(site: string): Promise<StoredRoster | undefined>;
  /** Stores `roster` as the next version of its site's (`roster.site`) and answers it. */
  put(roster: Roster, updatedBy: string, at: number): Promise<StoredRoster>;
  /** Earlier versions too, newest first, at most `limit`. */
  history(site: string, limit: number): Promise<StoredRoster[]>;
  close(): Promise<void>;
}
