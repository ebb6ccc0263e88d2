import { createHash } from 'node:crypto';
import pg from 'pg';
import type { Logger } from 'pino';
import { Gauge, type Registry } from 'prom-client';
import { backoffDelay, getOrCreateMetric, sleep } from '../../core/util/index.js';

/**
 * Cluster leadership on a PostgreSQL session advisory lock: work that must run once across the
 * cluster (escalation, reminders, monthly reports) runs only on the node that is leader for its
 * name. Each leader keeps one connection of its own, outside the pool, and holds
 * `pg_try_advisory_lock(key)` on it, the key derived from the name. Every `retryMs` a node that is
 * not leader tries to take the lock, and the leader checks its session still answers.
 *
 * Guarantees:
 * - At most one holder per name while sessions are healthy: PostgreSQL grants a session lock to one
 *   session at a time, and releases it when that session ends, so a node that dies (or whose
 *   connection drops) frees it for the next one.
 * - A node that lost its session reconnects with backoff and contends again from the round after,
 *   so another node that stayed healthy takes over rather than racing it for the lock.
 * - A node stops believing it leads as soon as its connection errors or ends, and within one check
 *   interval when PostgreSQL stops answering, e.g. after a network partition (a check every
 *   `retryMs`, each waiting at most `retryMs`: at most 2 × retryMs): it cannot reach PostgreSQL, so
 *   it gives up, and work it guards must check `isLeader()` before each run. On the
 *   server side the session is ended after `3 × retryMs` without a query (`idle_session_timeout`,
 *   PostgreSQL 14+), which frees the lock for another node a while after the old holder gave up,
 *   instead of whenever TCP keepalive notices the dead peer.
 * - It is a lease without fencing: a node whose process stalls (GC, a paused VM) may still act for
 *   a moment on leadership it has lost. Work guarded by it must therefore also be idempotent at the
 *   store (a unique key, a conditional update), so a second run is harmless rather than impossible.
 *
 * The URL must reach PostgreSQL directly or through a session-mode pooler: a transaction-mode pooler
 * (PgBouncer `pool_mode=transaction`) would hand the lock's session to others.
 */

export interface Leader {
  /** Connects and makes a first attempt; resolves after that attempt (leader or not). Rejects only if the first connection fails. */
  start(): Promise<void>;
  isLeader(): boolean;
  /** Called on every change (true: gained, false: lost). Returns an unsubscribe. */
  onChange(listener: (leader: boolean) => void): () => void;
  /** Releases the lock (pg_advisory_unlock) if held, ends the connection; idempotent. */
  stop(): Promise<void>;
}

const RECONNECT = { baseMs: 200, maxMs: 10_000, floorMs: 100 } as const;

/** The advisory-lock key for `name`: the first 8 bytes of sha256(`anju:leader:<name>`), a signed 64-bit integer as a string. */
export function leaderLockKey(name: string): string {
  return createHash('sha256').update(`anju:leader:${name}`).digest().readBigInt64BE(0).toString();
}

class QueryTimeout extends Error {}

export function createPostgresLeader(
  config: { url: string; name: string; retryMs?: number },
  deps: { logger: Logger; metrics?: Registry },
): Leader {
  const retryMs = config.retryMs ?? 5_000;
  const role = config.name;
  const key = leaderLockKey(role);
  const log = deps.logger.child({ part: 'storage', store: 'postgres', leader: role });
  const reg = deps.metrics;
  const gauge = reg
    ? getOrCreateMetric(reg, 'anju_cluster_leader', () => new Gauge({
      name: 'anju_cluster_leader', help: 'Whether this node holds cluster leadership for the role (1) or not (0)', labelNames: ['role'], registers: [reg],
    }), ['role'])
    : undefined;
  gauge?.set({ role }, 0);

  const stopping = new AbortController();
  const listeners = new Set<(leader: boolean) => void>();
  let client: pg.Client | undefined;
  let leader = false;
  let started: Promise<void> | undefined;
  let loop: Promise<void> | undefined;
  let stopped: Promise<void> | undefined;

  function setLeader(now: boolean): void {
    if (leader === now) return;
    leader = now;
    gauge?.set({ role }, now ? 1 : 0);
    log.info({ role }, now ? 'cluster leadership gained' : 'cluster leadership lost');
    for (const l of [...listeners]) {
      try {
        l(now);
      } catch (err) {
        log.error({ err: { message: (err as Error).message }, role }, 'cluster leadership listener threw');
      }
    }
  }

  /** `c.query` that gives up after `retryMs` (the session is then treated as gone). */
  async function query<R extends pg.QueryResultRow>(c: pg.Client, text: string, params: unknown[] = []): Promise<R[]> {
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new QueryTimeout(`no answer from PostgreSQL within ${retryMs} ms`)), retryMs);
      timer.unref();
    });
    try {
      return (await Promise.race([c.query<R>(text, params), timeout])).rows;
    } finally {
      clearTimeout(timer);
    }
  }

  async function connect(): Promise<void> {
    const c = new pg.Client({
      connectionString: config.url, application_name: 'anju-leader', keepAlive: true,
      // An unreachable server (a partition) must not hold up the loop forever.
      connectionTimeoutMillis: Math.max(retryMs, 2_000),
    });
    c.on('error', (err) => lost(c, err));
    c.on('end', () => lost(c, new Error('connection ended')));
    try {
      await c.connect();
      // The server ends a session that stops querying (a partitioned node), which frees its lock; a
      // healthy one queries every retryMs. PostgreSQL before 14 has no such setting.
      const [v] = await query<{ v: number }>(c, "SELECT current_setting('server_version_num')::int AS v");
      if ((v?.v ?? 0) >= 140_000) await query(c, `SET idle_session_timeout = ${Math.ceil(3 * retryMs)}`);
    } catch (err) {
      await c.end().catch(() => undefined);
      throw err;
    }
    if (stopping.signal.aborted) {
      await c.end().catch(() => undefined);
      return;
    }
    client = c;
  }

  /** The session is gone (or treated as gone), and the lock with it. */
  function lost(c: pg.Client, err: Error): void {
    if (client !== c) return;
    client = undefined;
    const was = leader;
    setLeader(false);
    if (!stopping.signal.aborted) {
      const level = was ? 'warn' : 'debug';
      log[level]({ err: { message: err.message }, role }, 'cluster leader lost its PostgreSQL connection; reconnecting');
    }
    // Ends the session if it is still there (a timed-out check), so PostgreSQL frees the lock; not
    // awaited, as a partitioned connection may never answer.
    c.end().catch(() => undefined);
  }

  /** One round: take the lock if not leader, check the session if leader. Never throws. */
  async function attempt(): Promise<void> {
    const c = client;
    if (!c || stopping.signal.aborted) return;
    try {
      if (!leader) {
        const [row] = await query<{ ok: boolean }>(c, 'SELECT pg_try_advisory_lock($1::bigint) AS ok', [key]);
        // Still this session (a lost one has been ended, and its lock with it).
        if (row?.ok && client === c && !stopping.signal.aborted) setLeader(true);
      } else {
        await query(c, 'SELECT 1');
      }
    } catch (err) {
      lost(c, err as Error);
    }
  }

  async function run(): Promise<void> {
    let failures = 0;
    while (!stopping.signal.aborted) {
      const delay = client ? retryMs : backoffDelay(failures, RECONNECT);
      if (!(await sleep(delay, stopping.signal))) return;
      try {
        if (!client) {
          try {
            await connect();
            failures = 0;
            // The first try waits for the next round: a node whose session was just lost lets one
            // that stayed healthy (and tries every round) take over, rather than racing it back.
            continue;
          } catch (err) {
            failures++;
            log.debug({ err: { message: (err as Error).message }, role, attempt: failures }, 'cluster leader still cannot connect to PostgreSQL');
            continue;
          }
        }
        await attempt();
      } catch (err) {
        // attempt() does not throw; this only keeps a surprise from ending the loop silently.
        log.error({ err: { message: (err as Error).message }, role }, 'cluster leader round failed');
      }
    }
  }

  return {
    start() {
      started ??= (async () => {
        if (stopping.signal.aborted) return;
        await connect();
        await attempt();
        if (!stopping.signal.aborted) loop = run();
      })();
      return started;
    },
    isLeader: () => leader,
    onChange(listener) {
      listeners.add(listener);
      return () => {
        listeners.delete(listener);
      };
    },
    stop() {
      stopped ??= (async () => {
        stopping.abort();
        await started?.catch(() => undefined);
        await loop;
        const c = client;
        client = undefined;
        const held = leader;
        // Not leader from here on, before the lock is given up.
        setLeader(false);
        if (c) {
          if (held) {
            await query(c, 'SELECT pg_advisory_unlock($1::bigint)', [key]).catch((err: Error) => {
              log.debug({ err: { message: err.message }, role }, 'cluster leader could not unlock; ending the session frees the lock');
            });
          }
          // A partitioned connection may never confirm the end; the session dies with it anyway.
          await Promise.race([c.end().catch(() => undefined), sleep(retryMs)]);
        }
      })();
      return stopped;
    },
  };
}
