/**
 * Compare-and-set writes of the records that several writers may change — alarms and incidents, on
 * every node of a cluster. Each record carries `rev`, the seq of the event that wrote its version; a
 * group commit writes a record carrying `rev` only if the stored record is still at that revision, so
 * no writer overwrites a change it has not seen (a lost update: an acknowledgement undone, a member
 * dropped). A record without `rev` (new, or stored before revisions existed) is written as it is.
 */

export interface Revised {
  readonly id: string;
  readonly rev?: number;
}

/** The ids whose stored revision a group must read: those carrying one. */
export function idsToCheck(records: readonly Revised[]): string[] {
  return [...new Set(records.filter((r) => r.rev !== undefined).map((r) => r.id))];
}

/**
 * Each record's first version in the group (later ones build on it) against `stored` (id → rev, for
 * ids that exist); throws `changed(...)` for the first that no longer matches.
 */
export function checkRevisions(
  records: readonly Revised[], stored: ReadonlyMap<string, number | undefined>,
  changed: (id: string, expected: number, stored: number | undefined) => Error,
): void {
  const seen = new Set<string>();
  for (const r of records) {
    if (seen.has(r.id)) continue;
    seen.add(r.id);
    if (r.rev === undefined) continue;
    const now = stored.get(r.id);
    if (now !== r.rev) throw changed(r.id, r.rev, now);
  }
}

/** Each record's new revision: the seq of its last entry in a group whose first seq is `first`. */
export function revisionsOf(records: readonly Revised[], first: number): Map<string, number> {
  const out = new Map<string, number>();
  records.forEach((r, i) => out.set(r.id, first + i));
  return out;
}
