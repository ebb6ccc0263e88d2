import type { DuckDBConnection, DuckDBInstance } from '@duckdb/node-api';
import type { Logger } from 'pino';
import { serialConnection, type ReopenableConnection, type SerialConnection } from './connection.js';

/**
 * One DuckDB instance whose connections survive its reopening.
 *
 * After a failed COMMIT, DuckDB keeps the failed transaction's keys in its in-memory primary-key
 * indexes although its rows were rolled back (duckdb/duckdb#23645): every later insert of those
 * keys — the alarm or incident event the caller retries, a rollup day — is refused as a duplicate.
 * After a FATAL error (a rollback that ran out of memory) DuckDB refuses every statement. Either way
 * nothing more would be stored, alarms included, until Anju restarted — and a restart does not mend
 * the first: closing checkpoints, which writes the index as it is in memory, failed keys and all,
 * into the file (measured: the duplicate survives a close and open).
 *
 * So the instance reopens itself (connection.ts `needsReopen` says when): every connection is held
 * once the job running on it has finished — jobs queued but not started wait too, since on the old
 * instance they would meet the failed keys; the old instance is closed without its closing
 * checkpoint, so the file keeps its last checkpoint and the WAL only committed transactions, which
 * the new instance replays into indexes that hold only what was committed; each connection's
 * `setup` runs again on its new connection (temp tables are per connection); the queues resume.
 * The failed job's caller sees its error and retries as with any unavailable store. Rare — a commit
 * fails on memory or I/O, not on input — so writes waiting ~0.1 s for it is of no concern. An
 * instance that cannot be opened again closes every connection (DatabaseClosedError) rather than
 * write on with indexes that lie.
 *
 * A job must not wait, inside its own connection's queue, for a job of another connection: the
 * other's queue may be held, waiting for this one's, and neither would go on.
 */
export interface ReopeningInstance {
  /** The instance open now (it changes with every reopen: do not keep it). */
  current(): DuckDBInstance;
  /** A connection that follows the instance; `setup` runs on each new connection after a reopen. */
  connect(label: string, setup?: (c: SerialConnection) => Promise<void>): Promise<ReopenableConnection>;
  /**
   * Runs `job` on a connection of its own, closed after it (a snapshot's): a reopen waits for it, and
   * it waits for a reopen under way — an old instance kept open by a connection beside a new one on
   * the same file would be two writers of one file.
   */
  withConnection<T>(job: (conn: DuckDBConnection) => Promise<T>): Promise<T>;
  /** Times the instance was reopened. */
  reopens(): number;
  /** Resolves when no reopen is under way. */
  settled(): Promise<void>;
  /** After this, a failed commit no longer reopens (the owner is closing every connection). */
  closing(): void;
}

export async function openReopening(open: () => Promise<DuckDBInstance>, deps: { logger: Logger; label: string }): Promise<ReopeningInstance> {
  let instance = await open();
  const connections: { conn: ReopenableConnection; setup?: (c: SerialConnection) => Promise<void>; label: string }[] = [];
  let reopening: Promise<void> | undefined;
  let reopens = 0;
  let closing = false;
  const borrowed = new Set<Promise<unknown>>();

  const onNeedsReopen = (err: unknown) => {
    if (closing || reopening) return;
    reopening = reopen(err).finally(() => {
      reopening = undefined;
    });
  };

  async function reopen(err: unknown): Promise<void> {
    reopens += 1;
    deps.logger.error({ err, database: deps.label },
      'the embedded database failed a COMMIT or hit a fatal error: reopening it, so it holds and indexes only what was committed (duckdb/duckdb#23645)');
    const held = await Promise.all(connections.map((c) => c.conn.hold()));
    await Promise.allSettled([...borrowed]);
    const started = Date.now();
    // No closing checkpoint: it would write the failed keys into the file for good. (An invalidated
    // database refuses the pragma, and does not checkpoint either.)
    await held[0]?.current.run('PRAGMA disable_checkpoint_on_shutdown').catch(() => undefined);
    for (const h of held) h.current.closeSync();
    instance.closeSync();
    let next: DuckDBConnection[] = [];
    try {
      instance = await open();
      next = await Promise.all(held.map(() => instance.connect()));
      for (const [i, c] of connections.entries()) {
        if (c.setup) await c.setup(serialConnection(next[i]!, `${c.label} (reopened)`));
      }
      held.forEach((h, i) => h.resume(next[i]));
      deps.logger.warn({ database: deps.label, ms: Date.now() - started }, 'embedded database reopened');
    } catch (reopenErr) {
      deps.logger.fatal({ err: reopenErr, database: deps.label }, 'the embedded database could not be reopened: every store is closed; restart Anju');
      for (const c of next) c.closeSync();
      instance.closeSync();
      for (const h of held) h.resume(undefined);
    }
  }

  const settled = async () => {
    while (reopening) await reopening;
  };

  return {
    current: () => instance,
    async connect(label, setup) {
      const conn = serialConnection(await instance.connect(), label, { onNeedsReopen });
      connections.push({ conn, label, ...(setup ? { setup } : {}) });
      return conn;
    },
    async withConnection(job) {
      await settled();
      const conn = await instance.connect();
      const run = (async () => {
        try {
          return await job(conn);
        } finally {
          conn.closeSync();
        }
      })();
      borrowed.add(run);
      try {
        return await run;
      } finally {
        borrowed.delete(run);
      }
    },
    reopens: () => reopens,
    settled,
    closing() {
      closing = true;
    },
  };
}
