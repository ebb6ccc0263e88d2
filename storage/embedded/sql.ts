import { DuckDBDataChunk, type DuckDBConnection, type DuckDBType, type DuckDBValue } from '@duckdb/node-api';
import type { WhereBuilder } from '../query-filters.js';

/**
 * Small SQL helpers the embedded state stores share. Values travel as bound parameters, except in a
 * script (`sqlLiteral`, `runScript`): several statements sent in one call, where a hot path cannot
 * afford a round trip per statement.
 */

export type Row = Record<string, DuckDBValue>;

/**
 * Rows of one query. Without parameters it is one call into DuckDB; with them, three (the node API
 * extracts the statements, prepares the last and then executes it, each a trip through the thread
 * pool and back to the event loop).
 */
export async function rows(c: DuckDBConnection, sql: string, params: DuckDBValue[] = []): Promise<Row[]> {
  return (await c.runAndReadAll(sql, params.length > 0 ? params : undefined)).getRowObjects();
}

/**
 * A value as a DuckDB SQL literal, for statements sent as one script (`runScript`). Strings are
 * standard SQL literals: DuckDB reads a backslash as itself and a doubled quote as a quote, and
 * nothing else in single quotes is special; a NUL goes in as `chr(0)`. Numbers that are not safe
 * integers are refused (no value here needs a float).
 */
export function sqlLiteral(v: DuckDBValue): string {
  if (v === null) return 'NULL';
  if (typeof v === 'bigint') return v.toString();
  if (typeof v === 'boolean') return v ? 'TRUE' : 'FALSE';
  if (typeof v === 'number') {
    if (!Number.isSafeInteger(v)) throw new RangeError(`only safe integers travel as SQL literals, got ${v}`);
    return String(v);
  }
  if (typeof v === 'string') {
    const quoted = (part: string) => `'${part.replaceAll("'", "''")}'`;
    // The script travels as a C string, which a NUL would end: it goes in as chr(0), all parts in
    // one concat() call (a chain of || nests one expression per NUL, and DuckDB stops at depth 1,000).
    return v.includes('\0') ? `concat(${v.split('\0').map(quoted).join(', chr(0), ')})` : quoted(v);
  }
  throw new TypeError(`no SQL literal for a ${typeof v} value`);
}

/**
 * Runs statements (built with `sqlLiteral`, no parameters) as one script: one call into DuckDB,
 * which runs them in order and stops at the first that fails. A script that opens a transaction
 * and fails inside it leaves it aborted: the caller rolls back.
 */
export async function runScript(c: DuckDBConnection, statements: readonly string[]): Promise<void> {
  if (statements.length > 0) await c.run(statements.join(';\n'));
}

/** DuckDB's refusal of an INSERT whose primary key is stored (`Constraint Error: Duplicate key …`). */
export const isDuplicatePrimaryKey = (err: unknown): boolean => err instanceof Error && /Duplicate key .* violates primary key constraint/.test(err.message);

/** Rows per statement of a script's multi-row INSERT. */
const SCRIPT_ROWS_PER_STATEMENT = 100;
/**
 * Stored rows a script updates one UPDATE each, at most; beyond, an upsert per 100 rows. Alone, an
 * UPDATE by key takes about half of a one-row upsert (2.7 vs 5.5 ms), but 200 single-row UPDATEs
 * took 62 ms against 18 ms for one 200-row upsert.
 */
const MAX_SINGLE_UPDATES = 8;

/**
 * The statements that write `rows` (values in `cols` order, the key first) to `table`, each key
 * once: a multi-row INSERT for rows not stored, an UPDATE by key for the few that are (an upsert
 * per 100 rows when there are many). `stored` says which keys are; wrong, the INSERT is refused on
 * the primary key and the script fails.
 */
export function writeRowsScript(table: string, cols: readonly string[], rows: readonly DuckDBValue[][], stored: (key: string) => boolean): string[] {
  const literals = rows.map((r) => r.map(sqlLiteral));
  const isStored = rows.map((r) => stored(String(r[0])));
  const fresh = literals.filter((_, i) => !isStored[i]);
  const old = literals.filter((_, i) => isStored[i]);
  const out: string[] = [];
  const insert = (part: string[][], tail = '') =>
    `INSERT INTO ${table} (${cols.join(', ')}) VALUES ${part.map((r) => `(${r.join(', ')})`).join(', ')}${tail}`;
  for (let i = 0; i < fresh.length; i += SCRIPT_ROWS_PER_STATEMENT) out.push(insert(fresh.slice(i, i + SCRIPT_ROWS_PER_STATEMENT)));
  if (old.length <= MAX_SINGLE_UPDATES) {
    for (const [key, ...rest] of old) out.push(`UPDATE ${table} SET ${cols.slice(1).map((col, k) => `${col} = ${rest[k]}`).join(', ')} WHERE ${cols[0]} = ${key}`);
  } else {
    const set = ` ON CONFLICT (${cols[0]}) DO UPDATE SET ${cols.slice(1).map((col) => `${col} = excluded.${col}`).join(', ')}`;
    for (let i = 0; i < old.length; i += SCRIPT_ROWS_PER_STATEMENT) out.push(insert(old.slice(i, i + SCRIPT_ROWS_PER_STATEMENT), set));
  }
  return out;
}

/** `column IN ($n, …)`, pushing the values onto `params`. */
export function inList(column: string, values: readonly string[], params: DuckDBValue[]): string {
  const marks = values.map((v) => {
    params.push(v);
    return `$${params.length}`;
  });
  return `${column} IN (${marks.join(', ')})`;
}

export const asList = <T>(v: T | readonly T[] | undefined): readonly T[] | undefined => (v === undefined ? undefined : Array.isArray(v) ? v : [v as T]);

/** Epoch ms as BIGINT, or NULL. */
export const big = (n: number | undefined): DuckDBValue => (n === undefined ? null : BigInt(Math.round(n)));

/** A WHERE clause being built: conditions and their bound values. */
export interface Where {
  readonly params: DuckDBValue[];
  readonly conds: string[];
}
export const where = (): Where => ({ params: [], conds: [] });

/** `col IN (…)` for one value or a list; an empty list matches nothing. */
export function whereIn(w: Where, col: string, v: string | readonly string[] | undefined): void {
  const list = asList<string>(v);
  if (list) w.conds.push(list.length ? inList(col, list, w.params) : 'FALSE');
}

/** This dialect's spelling of the shared list filters (storage/query-filters.ts). */
export function whereBuilder(w: Where): WhereBuilder {
  return {
    eq: (col, v) => whereEq(w, col, v),
    in: (col, v) => whereIn(w, col, v),
    bound(v, cond) {
      w.params.push(v);
      w.conds.push(cond(`$${w.params.length}`));
    },
  };
}

export function whereEq(w: Where, col: string, v: string | undefined): void {
  if (v === undefined) return;
  w.params.push(v);
  w.conds.push(`${col} = $${w.params.length}`);
}

/** One page of `table` newest `start_ts` first (then id), with the total of every matching row. */
export async function newestFirstPage(
  conn: { query(sql: string, params?: DuckDBValue[]): Promise<Row[]> }, table: string, cols: readonly string[], w: Where,
    page: { limit: number; offset: number },
): Promise<{ rows: Row[]; total: number }> {
  if (!Number.isSafeInteger(page.limit) || page.limit < 0 || !Number.isSafeInteger(page.offset) || page.offset < 0) {
    throw new RangeError('limit and offset must be non-negative integers');
  }
  const cond = w.conds.length ? `WHERE ${w.conds.join(' AND ')}` : '';
  const n = (await conn.query(`SELECT count(*) AS n FROM ${table} ${cond}`, w.params))[0]?.n ?? null;
  const rows = await conn.query(
    `SELECT ${cols.join(', ')} FROM ${table} ${cond} ORDER BY start_ts DESC, id LIMIT $${w.params.length + 1} OFFSET $${w.params.length + 2}`,
    [...w.params, BigInt(page.limit), BigInt(page.offset)],
  );
  return { rows, total: typeof n === 'bigint' ? Number(n) : Number(n ?? 0) };
}

/** Rows per DuckDB data chunk (its vector size): appending more at once is refused. */
export const CHUNK_ROWS = 2048;

/**
 * Appends `rows` to a temp staging table through DuckDB's Appender, a data chunk of columns at a
 * time (far faster than INSERT statements); `columns` turns a chunk of rows into its columns, in
 * the table's order and `types`.
 */
export async function appendToStaging<T>(
  conn: DuckDBConnection, table: string, types: readonly DuckDBType[], rows: readonly T[], columns: (part: readonly T[]) => DuckDBValue[][],
): Promise<void> {
  const appender = await conn.createAppender(table, null, 'temp');
  try {
    for (let off = 0; off < rows.length; off += CHUNK_ROWS) {
      const part = rows.slice(off, off + CHUNK_ROWS);
      const chunk = DuckDBDataChunk.create([...types], part.length);
      chunk.setColumns(columns(part));
      appender.appendDataChunk(chunk);
    }
    appender.flushSync();
  } catch (err) {
    // Rows an Appender still holds are flushed when it is destroyed — by the garbage collector, into
    // whatever transaction the connection has open then. A failed append drops them now, and its
    // own error is the one reported (closing an Appender of an aborted transaction throws as well).
    appender.clear();
    try {
      appender.closeSync();
    } catch {
      // the append's error below says what went wrong
    }
    throw err;
  }
  appender.closeSync();
}
