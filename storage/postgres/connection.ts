import pg from 'pg';
import { StoreUnavailableError } from '../contract.js';
import { DuplicateError } from '../state/contract.js';
import type { WhereBuilder } from '../query-filters.js';

/**
 * The pool and the few SQL helpers every PostgreSQL store shares. Values always travel as bound
 * parameters; identifiers only ever come from this folder's own constants.
 */

export type Queryable = pg.Pool | pg.PoolClient;
export type Params = unknown[];

/** int8 (BIGINT: epoch ms, seqs, count(*)) as a JS number: every value this schema keeps is below 2^53. */
const INT8_OID = 20;
const types: pg.CustomTypesConfig = {
  getTypeParser: ((oid: number, format?: 'text' | 'binary') => {
    if (oid === INT8_OID && format !== 'binary') return (v: string) => Number(v);
    return pg.types.getTypeParser(oid, format as 'text');
  }) as pg.CustomTypesConfig['getTypeParser'],
};

/** Node socket errors, SQLSTATE class 08 (connection exception) and the server shutting down or full. */
const connectionCodes = new Set(['ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'EPIPE', 'ENOTFOUND', 'EHOSTUNREACH', 'EAI_AGAIN', '57P01', '57P02', '57P03', '53300']);

export function isConnectionError(err: unknown): boolean {
  if (!(err instanceof Error)) return false;
  const code = (err as { code?: unknown }).code;
  if (typeof code === 'string' && (connectionCodes.has(code) || code.startsWith('08'))) return true;
  return /connection terminated|timeout exceeded when trying to connect|not queryable/i.test(err.message);
}

/**
 * PostgreSQL out of reach becomes StoreUnavailableError (category `unavailable`: the API answers
 * 503, retry later) instead of an internal error; every other error is left as it is.
 */
export function unavailable(err: unknown): unknown {
  return isConnectionError(err) ? new StoreUnavailableError(`PostgreSQL is unavailable: ${(err as Error).message}`, undefined, { cause: err }) : err;
}

/**
 * The pool every store of a node shares. Its `query` and `connect` translate a lost server into
 * StoreUnavailableError; the pool itself reconnects on the next use, so a node recovers without a
 * restart once PostgreSQL is back.
 */
export function createPool(config: { url: string; max: number; applicationName: string }): pg.Pool {
  const pool = new pg.Pool({
    connectionString: config.url, max: config.max, types, application_name: config.applicationName,
    // A node that cannot reach PostgreSQL answers a refusal within seconds rather than hanging its callers.
    connectionTimeoutMillis: 10_000, idleTimeoutMillis: 30_000,
  });
  // pg-pool listens for errors only on idle clients. A client checked out between two queries (a
  // transaction awaiting its caller) whose server goes away emits 'error' with nobody listening, which
  // would end the process; the caller's next query fails anyway (and is answered as unavailable).
  pool.on('connect', (client) => client.on('error', () => undefined));
  const rethrow = (err: unknown): never => {
    throw unavailable(err);
  };
  return new Proxy(pool, {
    get(target, prop) {
      if (prop === 'query') return (text: string, values?: unknown[]) => target.query(text, values).catch(rethrow);
      if (prop === 'connect') return () => target.connect().catch(rethrow);
      const v: unknown = Reflect.get(target, prop, target);
      return typeof v === 'function' ? (v as (...a: unknown[]) => unknown).bind(target) : v;
    },
  });
}

export async function rows<R = Record<string, unknown>>(q: Queryable, sql: string, params: Params = []): Promise<R[]> {
  return (await q.query(sql, params)).rows as R[];
}

/**
 * BEGIN … COMMIT on a client of its own, rolled back if `job` throws. A client whose connection
 * failed is destroyed rather than returned to the pool.
 */
export async function transaction<T>(pool: pg.Pool, job: (c: pg.PoolClient) => Promise<T>): Promise<T> {
  const client = await pool.connect();
  let broken: Error | undefined;
  try {
    await client.query('BEGIN');
    const out = await job(client);
    await client.query('COMMIT');
    return out;
  } catch (err) {
    // A ROLLBACK that fails too means the connection is gone: the client is destroyed, not pooled.
    await client.query('ROLLBACK').catch((e: unknown) => {
      broken = e instanceof Error ? e : new Error(String(e));
    });
    throw unavailable(err);
  } finally {
    client.release(broken);
  }
}

/** SQLSTATE 23505, optionally only on the named constraint or unique index. */
export function isUniqueViolation(err: unknown, constraint?: string): boolean {
  const e = err as { code?: unknown; constraint?: unknown } | null;
  return typeof e === 'object' && e !== null && e.code === '23505' && (constraint === undefined || e.constraint === constraint);
}

/** Runs `write`; a unique violation becomes a DuplicateError saying `what` (the API answers 409). */
export async function refuseDuplicate<T>(what: string, write: () => Promise<T>): Promise<T> {
  try {
    return await write();
  } catch (err) {
    if (isUniqueViolation(err)) throw new DuplicateError(`${what} already exists`, { cause: err });
    throw err;
  }
}

/** `($1, $2), ($3, $4)`: placeholders for `count` rows of `width` values. */
export function valuesList(count: number, width: number): string {
  return Array.from({ length: count }, (_, j) => `(${Array.from({ length: width }, (__, k) => `$${j * width + k + 1}`).join(', ')})`).join(', ');
}

export function checkPage(p: { limit: number; offset: number }): void {
  if (!Number.isSafeInteger(p.limit) || p.limit < 0 || !Number.isSafeInteger(p.offset) || p.offset < 0) {
    throw new RangeError('limit and offset must be non-negative integers');
  }
}

/** A WHERE clause being built: conditions and their bound values. */
export interface Where {
  readonly params: Params;
  readonly conds: string[];
}
export const where = (): Where => ({ params: [], conds: [] });

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

/** `col = ANY($n)` for one value or a list; an empty list matches nothing. */
export function whereIn(w: Where, col: string, v: string | readonly string[] | undefined): void {
  if (v === undefined) return;
  w.params.push(typeof v === 'string' ? [v] : [...v]);
  w.conds.push(`${col} = ANY($${w.params.length}::text[])`);
}

export const whereSql = (w: Where): string => (w.conds.length ? `WHERE ${w.conds.join(' AND ')}` : '');

/** One page of `table` ordered by `order`, with the total of every matching row. */
export async function pageOf<R>(
  q: Queryable, table: string, cols: string, w: Where, order: string, page: { limit: number; offset: number },
): Promise<{ rows: R[]; total: number }> {
  checkPage(page);
  const cond = whereSql(w);
  const total = (await rows<{ n: number }>(q, `SELECT count(*) AS n FROM ${table} ${cond}`, w.params))[0]?.n ?? 0;
  const found = await rows<R>(q, `SELECT ${cols} FROM ${table} ${cond} ORDER BY ${order} LIMIT $${w.params.length + 1} OFFSET $${w.params.length + 2}`,
    [...w.params, page.limit, page.offset]);
  return { rows: found, total };
}

/** Epoch ms or NULL. */
export const ms = (n: number | undefined): number | null => (n === undefined ? null : Math.round(n));

/** Optional column values as absent keys, so a record reads back equal to what was written. */
export function present<T extends Record<string, unknown>>(o: T): Partial<{ [K in keyof T]: NonNullable<T[K]> }> {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== null && v !== undefined)) as Partial<{ [K in keyof T]: NonNullable<T[K]> }>;
}
