/** Records whose stored revision the index keeps; the least recently written go first beyond it. */
export const MAX_INDEXED_REVISIONS = 100_000;

/**
 * What an embedded store's group-commit checks need to know of a table of revised records with one
 * active record per key — alarms (storage/embedded/alarms.ts), incidents (incidents.ts) — kept in
 * memory so a group commit does not read the table first: the store's own connection is the only
 * writer of the table, so what it committed is what is there.
 * - The record holding each key that has an active record: all of them, loaded once (`load`).
 * - The stored revision of records written (or read for a check) lately: at most
 *   MAX_INDEXED_REVISIONS; one missing is read from the table by the caller (`learn`).
 * A record this index does not know and that carries no revision is taken to be new. Where that
 * is wrong (a write without a revision of a record stored long ago), the INSERT fails on the
 * primary key, nothing is stored, and the store checks that group against the table instead.
 */
export interface StoredRecordIndex<T extends { readonly id: string }> {
  /** Whether the active keys were loaded (until then nothing else may be asked). */
  readonly loaded: boolean;
  /** The active records of the table, as (id, active_key) pairs: replaces whatever the index held. */
  load(active: Iterable<{ id: string; key: string }>): void;
  /** The id of the record active under `key`, if any. */
  activeFor(key: string): string | undefined;
  /** Whether the index knows the record is stored: its revision, or as the holder of an active key. */
  stored(id: string): boolean;
  /** The stored revision, when known (undefined: not known, or stored without one). */
  revision(id: string): number | undefined;
  /** Whether the index holds the stored revision of `id`. */
  knowsRevision(id: string): boolean;
  /** Revisions read from the table for a check (undefined: stored without one). */
  learn(found: Iterable<{ id: string; rev: number | undefined }>): void;
  /** A group committed: each record's last version in it, with the revision it was written at. */
  committed(records: Iterable<T>, revisionOf: (id: string) => number): void;
  /** Forgets everything (the next group loads it again): after a write whose outcome is unknown. */
  forget(): void;
}

export function createStoredRecordIndex<T extends { readonly id: string }>(config: {
  /** The key a record holds while active (its `active_key`). */
  keyOf(record: T): string;
  isActive(record: T): boolean;
  maxRevisions?: number;
}): StoredRecordIndex<T> {
  const maxRevisions = config.maxRevisions ?? MAX_INDEXED_REVISIONS;
  let active: Map<string, string> | undefined;
  /** id → stored revision, least recently written first. */
  const revisions = new Map<string, number | undefined>();
  /** id → key, of the records holding a key in `active`. */
  const holding = new Map<string, string>();

  const remember = (id: string, rev: number | undefined) => {
    revisions.delete(id);
    revisions.set(id, rev);
    if (revisions.size > maxRevisions) revisions.delete(revisions.keys().next().value as string);
  };
  const loadedActive = (): Map<string, string> => {
    if (!active) throw new Error('stored record index used before its active keys were loaded');
    return active;
  };

  return {
    get loaded() {
      return active !== undefined;
    },
    load(rows) {
      active = new Map();
      holding.clear();
      revisions.clear();
      for (const { id, key } of rows) {
        active.set(key, id);
        holding.set(id, key);
      }
    },
    activeFor: (key) => loadedActive().get(key),
    stored: (id) => revisions.has(id) || holding.has(id),
    revision: (id) => revisions.get(id),
    knowsRevision: (id) => revisions.has(id),
    learn(found) {
      for (const { id, rev } of found) remember(id, rev);
    },
    committed(records, revisionOf) {
      const keys = loadedActive();
      for (const a of records) {
        remember(a.id, revisionOf(a.id));
        const key = config.keyOf(a);
        // A record rewritten under another key (the contract replaces by id) leaves its old one.
        const before = holding.get(a.id);
        if (before !== undefined && before !== key) {
          if (keys.get(before) === a.id) keys.delete(before);
          holding.delete(a.id);
        }
        if (config.isActive(a)) {
          keys.set(key, a.id);
          holding.set(a.id, key);
        } else if (keys.get(key) === a.id) {
          keys.delete(key);
          holding.delete(a.id);
        }
      }
    },
    forget() {
      active = undefined;
      holding.clear();
      revisions.clear();
    },
  };
}
