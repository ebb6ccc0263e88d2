import type pg from 'pg';
import { checkRevisions, idsToCheck } from '../revisions.js';
import { isUniqueViolation, rows, transaction, valuesList, type Queryable } from './connection.js';

/**
 * What the alarm and incident stores share: records keyed "one active per key" plus an event log
 * with gap-free seqs, written in one transaction per group commit, correct with any number of nodes
 * writing at once.
 *
 * Per group: (1) the log's counter row in `event_seqs` is incremented — its row lock serializes
 * every writer of that log cluster-wide until commit, so seqs are gap-free (a rollback gives them
 * back) and commits become visible in seq order (an SSE replay after seq N never misses a smaller
 * one committed later); (2) the one-active-per-key rule is checked entry by entry in order against
 * the table as committed (clear refusals, no seq used); (3) each record is upserted once, as its
 * last version in the group, records leaving a key before those taking one; (4) the events are
 * appended. The unique partial index on `active_key` is the final word: a writer that bypassed the
 * counter still cannot commit a second active record under a key, and its violation surfaces as the
 * store's conflict error.
 */

/** Rows per multi-row INSERT (well below PostgreSQL's 65,535 bound parameters). */
const ROWS_PER_STATEMENT = 100;

export interface KeyedRecord {
  readonly id: string;
  /** The record's one-active key, whether or not it is active now. */
  readonly key: string;
  readonly active: boolean;
  /** The revision this version was decided on (storage/revisions.ts); absent: written unconditionally. */
  readonly rev?: number;
  /** Column values in the table's column order (`active_key` included; not `rev`, which the write adds). */
  readonly values: readonly unknown[];
}

export interface KeyedLogSpec {
  /** Table of records, its columns (the first is `id`), and its unique partial index on `active_key`. */
  readonly table: string;
  readonly cols: readonly string[];
  readonly oneActiveIndex: string;
  /** The event table, its columns, and its counter row in `event_seqs`. */
  readonly events: string;
  readonly eventCols: readonly string[];
  readonly seqName: string;
  readonly conflict: (message: string, cause?: unknown) => Error;
  /**
   * The table's last column is `rev`: each record's revision, the seq of its last event in the
   * group (its value is added by the write). A record carrying `rev` is written only at that stored
   * revision; otherwise the group is refused with `changed(...)`.
   */
  readonly revisions?: { changed(id: string, expected: number, stored: number | undefined): Error };
}

/** The highest seq handed out for `seqName` (kept apart from the events, so pruning never reuses a seq). */
export async function lastSeqOf(q: Queryable, seqName: string): Promise<number> {
  return (await rows<{ value: number }>(q, 'SELECT value FROM event_seqs WHERE name = $1', [seqName]))[0]?.value ?? 0;
}

async function takeSeqs(c: pg.PoolClient, seqName: string, n: number): Promise<number> {
  const r = await rows<{ value: number }>(c, 'UPDATE event_seqs SET value = value + $2 WHERE name = $1 RETURNING value', [seqName, n]);
  if (!r[0]) throw new Error(`event_seqs has no row ${seqName}: the PostgreSQL schema is incomplete`);
  return r[0].value - n + 1;
}

async function checkActiveKeys(c: pg.PoolClient, spec: KeyedLogSpec, records: readonly KeyedRecord[]): Promise<void> {
  const keys = [...new Set(records.map((r) => r.key))];
  const holder = new Map<string, string>();
  const found = await rows<{ id: string; active_key: string }>(c, `SELECT id, active_key FROM ${spec.table} WHERE active_key = ANY($1::text[])`, [keys]);
  for (const r of found) holder.set(r.active_key, r.id);
  for (const r of records) {
    const other = holder.get(r.key);
    if (r.active) {
      if (other !== undefined && other !== r.id) throw spec.conflict(`${other} is already active for ${r.key}`);
      holder.set(r.key, r.id);
    } else if (other === r.id) {
      holder.delete(r.key);
    }
  }
}

export async function insertChunked(c: pg.PoolClient, table: string, cols: readonly string[], values: readonly (readonly unknown[])[], suffix = ''): Promise<void> {
  for (let i = 0; i < values.length; i += ROWS_PER_STATEMENT) {
    const chunk = values.slice(i, i + ROWS_PER_STATEMENT);
    await c.query(`INSERT INTO ${table} (${cols.join(', ')}) VALUES ${valuesList(chunk.length, cols.length)} ${suffix}`, chunk.flat());
  }
}

/**
 * One group commit: `records` in entry order (one per event), `eventValues(first)` the event rows
 * given the first seq, `extra` anything else in the same transaction. Resolves with the first seq.
 */
export async function writeGroup(
  pool: pg.Pool, spec: KeyedLogSpec, records: readonly KeyedRecord[], eventValues: (first: number) => unknown[][],
  extra?: (c: pg.PoolClient) => Promise<void>,
): Promise<number> {
  try {
    return await transaction(pool, async (c) => {
      const first = await takeSeqs(c, spec.seqName, records.length);
      // After takeSeqs: every other writer of this log has committed or waits, so what is read is current.
      if (spec.revisions) checkRevisions(records, await storedRevisions(c, spec.table, idsToCheck(records)), spec.revisions.changed);
      await checkActiveKeys(c, spec, records);
      const last = new Map<string, { r: KeyedRecord; seq: number }>();
      records.forEach((r, i) => last.set(r.id, { r, seq: first + i }));
      // Records leaving a key first: the unique index is checked row by row, not at commit.
      const ordered = [...last.values()].sort((a, b) => Number(a.r.active) - Number(b.r.active));
      const update = spec.cols.slice(1).map((col) => `${col} = excluded.${col}`).join(', ');
      await insertChunked(c, spec.table, spec.cols, ordered.map(({ r, seq }) => (spec.revisions ? [...r.values, seq] : r.values)), `ON CONFLICT (id) DO UPDATE SET ${update}`);
      if (extra) await extra(c);
      await insertChunked(c, spec.events, spec.eventCols, eventValues(first));
      return first;
    });
  } catch (err) {
    if (isUniqueViolation(err, spec.oneActiveIndex)) throw spec.conflict(`another node made a record active under the same key in ${spec.table}`, err);
    throw err;
  }
}

async function storedRevisions(c: pg.PoolClient, table: string, ids: readonly string[]): Promise<Map<string, number | undefined>> {
  if (ids.length === 0) return new Map();
  const found = await rows<{ id: string; rev: string | number | null }>(c, `SELECT id, rev FROM ${table} WHERE id = ANY($1::text[])`, [ids]);
  return new Map(found.map((r) => [r.id, r.rev === null ? undefined : Number(r.rev)]));
}

/** Events with seq > `after`, oldest first, at most `limit`. */
export async function eventRowsSince<R>(q: Queryable, events: string, after: number, limit: number): Promise<R[]> {
  return rows<R>(q, `SELECT * FROM ${events} WHERE seq > $1 ORDER BY seq LIMIT $2`, [Math.max(0, Math.floor(after)), limit]);
}

export async function pruneBefore(q: Queryable, table: string, beforeTs: number): Promise<number> {
  return (await q.query(`DELETE FROM ${table} WHERE ts < $1`, [Math.round(beforeTs)])).rowCount ?? 0;
}
