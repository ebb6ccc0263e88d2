import type { AuditEntry, StoredAuditEntry } from '../../core/audit.js';

/**
 * The AuditStore contract: an append-only trail of changes made through the API (core/audit.ts).
 * Implemented on the embedded database (storage/embedded/audit.ts, migration 9); another store must
 * pass test/storage/audit.contract.ts. Entries are kept as long as alarms: `prune` is the one way
 * they go, and only with the alarm events' cut-off.
 */

export interface AuditFilter {
  readonly actor?: string;
  /** Exact, or ending in `.` for every action on a resource. */
  readonly action?: string;
  readonly from?: number;
  readonly to?: number;
  readonly limit: number;
  readonly offset: number;
}

export interface AuditStore {
  record(entry: AuditEntry): Promise<void>;
  /** Newest first. */
  query(filter: AuditFilter): Promise<{ items: StoredAuditEntry[]; total: number }>;
  /** Drops entries older than `beforeTs`; how many. */
  prune(beforeTs: number): Promise<number>;
  close(): Promise<void>;
}
