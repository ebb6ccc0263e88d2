import type { DuckDBConnection, DuckDBPreparedStatement, DuckDBValue } from '@duckdb/node-api';
import { CodedError } from '../../core/errors.js';
import { createSerialQueue } from '../../core/util/index.js';

/**
 * One DuckDB connection used by one caller at a time. A DuckDB connection holds a single active
 * transaction and query, so two overlapping async calls on it would interleave statements of
 * different transactions; every use goes through `use()`, which runs jobs strictly in order.
 * Once `close()` has begun, new jobs reject with a clear error instead of touching a closed handle.
 */
export interface SerialConnection {
  use<T>(job: (conn: DuckDBConnection) => Promise<T>): Promise<T>;
  /** `use` wrapped in BEGIN / COMMIT, rolled back if the job throws. */
  transaction<T>(job: (conn: DuckDBConnection) => Promise<T>): Promise<T>;
  /** Rows as objects keyed by column name, raw DuckDB values (bigint for BIGINT). */
  query(sql: string, params?: DuckDBValue[]): Promise<Record<string, DuckDBValue>[]>;
  run(sql: string, params?: DuckDBValue[]): Promise<void>;
  /**
   * Refuses new jobs, waits for queued ones, runs `last` (e.g. a CHECKPOINT) and disconnects.
   * Idempotent: later calls return the first call's promise.
   */
  close(last?: (conn: DuckDBConnection) => Promise<void>): Promise<void>;
}

/** The database was closed (shutdown): nothing more is read or written. */
export class DatabaseClosedError extends CodedError {
  override name = 'DatabaseClosedError';
  constructor(message: string, options?: { cause?: unknown }) {
    super('database_closed', 'unavailable', message, options);
  }
}

/**
 * A connection the database can swap under its queue: after a failed COMMIT or a fatal error the
 * embedded database reopens (storage/embedded/reopen.ts), and every connection of the old instance is replaced.
 */
export interface ReopenableConnection extends SerialConnection {
  /**
   * Holds the queue: resolves, once the job running now (if any) has finished, with the connection in
   * use and `resume`. No other job starts — those queued before the hold included — until
   * `resume(next)`; from then on they run on `next`, or, given `undefined` (the database could not be
   * reopened), fail with a DatabaseClosedError.
   */
  hold(): Promise<{ current: DuckDBConnection; resume(next: DuckDBConnection | undefined): void }>;
}

/**
 * DuckDB's errors after which the database must be opened again, as opposed to a statement refused
 * (a constraint, a conflict, out of memory in a statement), after which it goes on as it was:
 * - a COMMIT that failed (out of memory, I/O error, disk full): "TransactionContext Error: Failed to
 *   commit"; the failed transaction's keys may stay in the primary-key indexes (duckdb/duckdb#23645);
 * - a FATAL error (a rollback that failed, say): DuckDB invalidates the database, and refuses every
 *   later statement until it is restarted ("database has been invalidated").
 */
export function needsReopen(err: unknown): boolean {
  return err instanceof Error && /^(TransactionContext Error: Failed to commit|FATAL Error)/.test(err.message);
}

export function serialConnection(first: DuckDBConnection, label: string,
  hooks: { onNeedsReopen?: (err: unknown) => void } = {}): ReopenableConnection {
  const queue = createSerialQueue();
  let conn = first;
  let closing: Promise<void> | undefined;
  let gone: DatabaseClosedError | undefined;
  /** Closed by `hold` until `resume`: no job starts meanwhile, however early it was queued. */
  let gate: Promise<void> | undefined;
  /** The job running now (the queue runs one at a time). */
  let running: Promise<void> | undefined;

  /** Runs `job` in turn: after the gate opens, never on a connection given up (`gone`). */
  const inTurn = <T>(job: () => Promise<T>): Promise<T> =>
    queue.run(async () => {
      while (gate) await gate;
      if (gone) throw gone;
      let finished!: () => void;
      running = new Promise<void>((resolve) => { finished = resolve; });
      try {
        return await job();
      } finally {
        running = undefined;
        finished();
      }
    });

  const enqueue = <T>(job: () => Promise<T>): Promise<T> => {
    if (closing) return Promise.reject(new DatabaseClosedError(`embedded database (${label}) is closed`));
    // The queue continues whatever the job's outcome; the caller sees the job's own outcome.
    return inTurn(async () => {
      try {
        return await job();
      } catch (err) {
        // Called before this job settles, so `hold` closes the gate ahead of every job queued after it.
        if (hooks.onNeedsReopen && needsReopen(err)) hooks.onNeedsReopen(err);
        throw err;
      }
    });
  };

  const self: ReopenableConnection = {
    use: (job) => enqueue(() => job(conn)),
    transaction: (job) => enqueue(() => inTransaction(conn, () => job(conn))),
    query: (sql, params) =>
      enqueue(async () => {
        const reader = await conn.runAndReadAll(sql, params);
        return reader.getRowObjects();
      }),
    run: (sql, params) =>
      enqueue(async () => {
        await conn.run(sql, params);
      }),
    async hold() {
      let open!: () => void;
      gate = new Promise<void>((resolve) => { open = resolve; });
      // Jobs queued before the hold but not started wait at the gate: on the old instance they would
      // meet what made it reopen (a duplicate that is not one, a database refusing everything).
      if (running) await running;
      return {
        current: conn,
        resume(next) {
          if (next) conn = next;
          else gone = new DatabaseClosedError(`embedded database (${label}) could not be reopened after a failed commit or a fatal error`);
          gate = undefined;
          open();
        },
      };
    },
    close: (last) => {
      closing ??= inTurn(async () => {
        try {
          if (last) await last(conn);
        } finally {
          conn.closeSync();
        }
      }).catch((err: unknown) => {
        if (err !== gone) throw err;
      });
      return closing;
    },
  };
  return self;
}

/** BIGINT / HUGEINT columns come back as bigint; telemetry times and counters fit a double exactly. */
export function toNumber(v: DuckDBValue): number | null {
  if (v === null || v === undefined) return null;
  if (typeof v === 'bigint') return Number(v);
  if (typeof v === 'number') return v;
  if (typeof v === 'boolean') return v ? 1 : 0;
  throw new TypeError(`expected a number from DuckDB, got ${typeof v}`);
}

export function toStringOrUndefined(v: DuckDBValue): string | undefined {
  return v === null || v === undefined ? undefined : String(v);
}

const prepared = new WeakMap<DuckDBConnection, Map<string, DuckDBPreparedStatement>>();

/**
 * Runs a statement the caller runs again and again (the telemetry write's, per batch) from a
 * prepared statement kept per connection: parsed and planned once, not per call, which `run(sql,
 * params)` does on the event loop each time. DuckDB re-binds it itself after a schema change; the
 * connection destroys its prepared statements when it closes. `sql` must be one statement.
 */
export async function runPrepared(conn: DuckDBConnection, sql: string, params: DuckDBValue[] = []): Promise<{ rowsChanged: number }> {
  const stmt = await preparedStatement(conn, sql);
  stmt.clearBindings();
  if (params.length > 0) stmt.bind(params);
  const result = await stmt.run();
  return { rowsChanged: Number(result.rowsChanged) };
}

/**
 * The statement `runPrepared` runs for `sql` on `conn`, prepared now if it is not yet: a caller may
 * call it ahead of time (at start-up) so that the first run under load does not parse and plan.
 */
export async function preparedStatement(conn: DuckDBConnection, sql: string): Promise<DuckDBPreparedStatement> {
  let cache = prepared.get(conn);
  if (!cache) prepared.set(conn, (cache = new Map()));
  let stmt = cache.get(sql);
  if (!stmt) {
    stmt = await conn.prepare(sql);
    cache.set(sql, stmt);
  }
  return stmt;
}

/** BEGIN … COMMIT on a connection the caller holds (inside `use`), rolled back if the job throws. */
export async function inTransaction<T>(conn: DuckDBConnection, job: () => Promise<T>): Promise<T> {
  await conn.run('BEGIN TRANSACTION');
  try {
    const out = await job();
    await conn.run('COMMIT');
    return out;
  } catch (err) {
    // A failed statement already aborts the transaction in DuckDB; ROLLBACK then only clears it.
    await conn.run('ROLLBACK').catch(() => undefined);
    throw err;
  }
}
