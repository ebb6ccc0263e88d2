import { createServer, connect, type Socket } from 'node:net';
import pg from 'pg';
import { pino } from 'pino';
import { Registry } from 'prom-client';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { createPostgresLeader, leaderLockKey, type Leader } from '../../storage/postgres/leader.js';
import { postgresAvailability, startPostgres, type Postgres } from '../helpers/postgres.js';
import { waitFor } from '../helpers/wait.js';

/**
 * Cluster leadership on a real PostgreSQL: nodes (here, leaders in one process, each with its own
 * connection as separate processes would have) contend for one session advisory lock per name.
 * Exactly one wins; it hands over on stop, on its session being killed and across a restart of
 * PostgreSQL; different names do not contend.
 */

const logger = pino({ level: 'silent' });
const { skip } = postgresAvailability();
const RETRY_MS = 200;

describe.skipIf(skip)(`cluster leader on PostgreSQL advisory locks ${skip ?? ''}`, () => {
  let server: Postgres;
  let url: string;
  let leaders: Leader[] = [];
  beforeAll(async () => {
    server = await startPostgres();
  });
  afterAll(async () => {
    await server?.cleanup();
  });
  afterEach(async () => {
    await Promise.all(leaders.map((l) => l.stop()));
    leaders = [];
  });

  const leader = (name: string, metrics?: Registry): Leader => {
    const l = createPostgresLeader({ url, name, retryMs: RETRY_MS }, { logger, metrics });
    leaders.push(l);
    return l;
  };
  const two = async (name = 'escalation'): Promise<[Leader, Leader]> => {
    url = (await server.createDatabase()).url;
    const a = leader(name);
    const b = leader(name);
    await Promise.all([a.start(), b.start()]);
    return [a, b];
  };
  const sql = async <R>(text: string, params: unknown[] = []): Promise<R[]> => {
    const c = new pg.Client({ connectionString: url });
    await c.connect();
    try {
      return (await c.query(text, params)).rows as R[];
    } finally {
      await c.end();
    }
  };
  const leading = (ls: readonly Leader[]) => ls.filter((l) => l.isLeader()).length;

  it('two leaders with the same name: exactly one is leader after both start, and stays so', async () => {
    const [a, b] = await two();
    expect(leading([a, b])).toBe(1);
    // Several more rounds of trying change nothing.
    const rounds = Date.now() + 5 * RETRY_MS;
    await waitFor('a few retry rounds', () => Date.now() > rounds);
    expect(leading([a, b])).toBe(1);
    // The lock is the one derived from the name, held by one session.
    const held = await sql<{ n: number }>("SELECT count(*)::int AS n FROM pg_locks WHERE locktype = 'advisory' AND granted");
    expect(held[0]?.n).toBe(1);
    expect(leaderLockKey('escalation')).toMatch(/^-?\d+$/);
    expect(leaderLockKey('escalation')).toBe(leaderLockKey('escalation'));
  });

  it('stop() of the leader: the other becomes leader within a few retry intervals (onChange true)', async () => {
    const [a, b] = await two();
    const [first, second] = (a.isLeader() ? [a, b] : [b, a]) as [Leader, Leader];
    const firstChanges: boolean[] = [];
    const secondChanges: boolean[] = [];
    first.onChange((v) => firstChanges.push(v));
    second.onChange((v) => secondChanges.push(v));
    const stoppedAt = Date.now();
    await first.stop();
    expect(first.isLeader()).toBe(false);
    expect(firstChanges).toEqual([false]);
    await waitFor('the other to take over', () => second.isLeader(), 10 * RETRY_MS, 10);
    expect(Date.now() - stoppedAt).toBeLessThan(10 * RETRY_MS);
    expect(secondChanges).toEqual([true]);
    await first.stop(); // idempotent
  });

  it('the leader\'s session killed: it reports false, the other takes over, never both at once', async () => {
    const [a, b] = await two();
    const samples: [boolean, boolean][] = [];
    const sampler = setInterval(() => samples.push([a.isLeader(), b.isLeader()]), 20);
    try {
      const [first, second] = (a.isLeader() ? [a, b] : [b, a]) as [Leader, Leader];
      const firstChanges: boolean[] = [];
      const secondChanges: boolean[] = [];
      first.onChange((v) => firstChanges.push(v));
      second.onChange((v) => secondChanges.push(v));
      const killed = await sql<{ ok: boolean }>(
        "SELECT pg_terminate_backend(pid) AS ok FROM pg_stat_activity WHERE application_name = 'anju-leader' AND pid IN (SELECT pid FROM pg_locks WHERE locktype = 'advisory' AND granted)",
      );
      expect(killed).toEqual([{ ok: true }]);
      await waitFor('the old leader to notice', () => !first.isLeader(), 5_000, 10);
      expect(firstChanges).toEqual([false]);
      await waitFor('the other to take over', () => second.isLeader(), 10_000, 10);
      expect(secondChanges).toEqual([true]);
      // The old one reconnects and keeps trying, without winning.
      await waitFor('the old leader to reconnect', async () => (await sql<{ n: number }>(
        "SELECT count(*)::int AS n FROM pg_stat_activity WHERE application_name = 'anju-leader'",
      ))[0]?.n === 2, 10_000);
      const rounds = Date.now() + 5 * RETRY_MS;
      await waitFor('a few retry rounds', () => Date.now() > rounds);
      expect([first.isLeader(), second.isLeader()]).toEqual([false, true]);
    } finally {
      clearInterval(sampler);
    }
    expect(samples.length).toBeGreaterThan(10);
    expect(samples.filter(([x, y]) => x && y)).toEqual([]);
  });

  it('two different names: both can be leaders at once; the gauge shows each role', async () => {
    url = (await server.createDatabase()).url;
    const metrics = new Registry();
    const escalation = leader('escalation', metrics);
    const reports = leader('monthly-reports', metrics);
    await Promise.all([escalation.start(), reports.start()]);
    expect([escalation.isLeader(), reports.isLeader()]).toEqual([true, true]);
    const gauge = await metrics.getSingleMetric('anju_cluster_leader')?.get();
    expect(gauge?.values.map((v) => [v.labels.role, v.value]).sort()).toEqual([['escalation', 1], ['monthly-reports', 1]]);
    await reports.stop();
    const after = await metrics.getSingleMetric('anju_cluster_leader')?.get();
    expect(after?.values.find((v) => v.labels.role === 'monthly-reports')?.value).toBe(0);
  });

  it('a partition between the leader and PostgreSQL: it gives up, the server frees its lock, the other takes over, never both at once', async () => {
    url = (await server.createDatabase()).url;
    // A TCP proxy that can stop passing bytes without closing anything: a network partition.
    let frozen = false;
    const sockets = new Set<Socket>();
    const proxy = createServer((down) => {
      const up = connect(server.port, '127.0.0.1');
      for (const s of [down, up]) {
        sockets.add(s);
        s.on('error', () => undefined);
      }
      down.on('data', (d) => { if (!frozen) up.write(d); });
      up.on('data', (d) => { if (!frozen) down.write(d); });
      down.on('end', () => { if (!frozen) up.end(); });
      up.on('end', () => { if (!frozen) down.end(); });
    });
    await new Promise<void>((r) => proxy.listen(0, '127.0.0.1', r));
    const { port } = proxy.address() as { port: number };
    // A longer interval here: the margin between the old leader giving up (≤ 2 × retryMs) and the
    // server ending its session (3 × retryMs idle) is one interval, which a busy machine must not eat.
    const retryMs = 400;
    const partitioned = createPostgresLeader({ url: url.replace(`:${server.port}/`, `:${port}/`), name: 'escalation', retryMs }, { logger });
    const other = createPostgresLeader({ url, name: 'escalation', retryMs }, { logger });
    leaders.push(partitioned, other);
    const samples: [boolean, boolean][] = [];
    const sampler = setInterval(() => samples.push([partitioned.isLeader(), other.isLeader()]), 20);
    try {
      await partitioned.start();
      await other.start();
      expect([partitioned.isLeader(), other.isLeader()]).toEqual([true, false]);
      frozen = true;
      const cutAt = Date.now();
      await waitFor('the partitioned leader to give up', () => !partitioned.isLeader(), 5_000, 10);
      const gaveUpAfter = Date.now() - cutAt;
      await waitFor('the other to take over', () => other.isLeader(), 10_000, 10);
      const tookOverAfter = Date.now() - cutAt;
      // Checks every retryMs, each waiting at most retryMs; the server ends the session after 3 × retryMs idle.
      expect(gaveUpAfter).toBeLessThan(2 * retryMs + 1_000);
      expect(tookOverAfter).toBeGreaterThan(gaveUpAfter);
      frozen = false;
      // Healed: the old one reconnects through the proxy and does not win it back.
      const rounds = Date.now() + 5 * retryMs;
      await waitFor('a few retry rounds', () => Date.now() > rounds);
      expect([partitioned.isLeader(), other.isLeader()]).toEqual([false, true]);
    } finally {
      clearInterval(sampler);
      await partitioned.stop();
      for (const s of sockets) s.destroy();
      await new Promise((r) => proxy.close(r));
    }
    expect(samples.filter(([x, y]) => x && y)).toEqual([]);
  });

  it('PostgreSQL restarts: both lose leadership, and afterwards exactly one is leader again', async () => {
    const [a, b] = await two();
    expect(leading([a, b])).toBe(1);
    const changes: boolean[] = [];
    a.onChange((v) => changes.push(v));
    b.onChange((v) => changes.push(v));
    await server.stop();
    await waitFor('leadership to be lost with the server', () => leading([a, b]) === 0, 5_000, 10);
    await server.start();
    await waitFor('a leader again', () => leading([a, b]) === 1, 20_000, 20);
    const rounds = Date.now() + 5 * RETRY_MS;
    await waitFor('a few retry rounds', () => Date.now() > rounds);
    expect(leading([a, b])).toBe(1);
    expect(changes.filter((v) => !v)).toHaveLength(1);
    expect(changes.filter((v) => v)).toHaveLength(1);
  });
});
