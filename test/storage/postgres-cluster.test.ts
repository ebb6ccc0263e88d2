import pg from 'pg';
import { pino } from 'pino';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { ensureAdminToken } from '../../api/bootstrap.js';
import { buildHealth } from '../../cli/health.js';
import { ActiveAlarmConflictError, createDeviceDirectory, StoreUnavailableError, type Alarm } from '../../storage/index.js';
import { ActiveIncidentConflictError } from '../../storage/incidents/contract.js';
import { createPostgres, latestPostgresVersion, type PostgresDatabase } from '../../storage/postgres/index.js';
import { createNotificationListener, deviceChannel } from '../../storage/postgres/listen.js';
import { postgresAvailability, startPostgres, type Postgres } from '../helpers/postgres.js';
import { incident } from './incident-store.contract.js';
import { holdPoint } from '../helpers/hold-point.js';

/**
 * What the contract suites cannot show with one store: several nodes (each its own pool, as
 * separate processes would have) on one PostgreSQL database. The one-active rules hold whichever
 * node writes, because the database holds them; seqs stay gap-free across nodes; nodes starting
 * together migrate once; and a node whose PostgreSQL restarts answers "unavailable" meanwhile and
 * works again afterwards without being restarted itself.
 */

const logger = pino({ level: 'silent' });
const { skip } = postgresAvailability();
const T0 = Date.UTC(2025, 5, 1);

const alarm = (id: string, device: string): Alarm => ({
  id, type: 'smoke', originator: { kind: 'device', id: device }, site: 's1', building: 'b1', severity: 'critical', status: 'active_unack',
  startTs: T0, lastUpdateTs: T0, escalationLevel: 0, count: 1, details: { smoke: 0.4 }, timeline: [{ ts: T0, event: 'raised' }],
});

describe.skipIf(skip)(`several nodes on one PostgreSQL ${skip ?? ''}`, () => {
  let server: Postgres;
  let open: PostgresDatabase[] = [];
  let url: string;
  beforeAll(async () => {
    server = await startPostgres();
  });
  afterAll(async () => {
    await server?.cleanup();
  });
  afterEach(async () => {
    await Promise.all(open.map((db) => db.close()));
    open = [];
  });
  const nodes = async (n: number): Promise<PostgresDatabase[]> => {
    url = (await server.createDatabase()).url;
    const dbs = await Promise.all(Array.from({ length: n }, () => createPostgres({ url, maxConnections: 4 }, { logger })));
    open.push(...dbs);
    return dbs;
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

  it('three nodes starting together on an empty database migrate it once', async () => {
    await nodes(3);
    const versions = await sql<{ version: number }>('SELECT version FROM schema_migrations ORDER BY version');
    expect(versions.map((v) => v.version)).toEqual(Array.from({ length: latestPostgresVersion }, (_, i) => i + 1));
  });

  it('nodes starting together with the same ANJU_ADMIN_TOKEN all start, with one admin token', async () => {
    const dbs = await nodes(3);
    await Promise.all(dbs.map((db) => ensureAdminToken('cluster-admin-token-0123456789', { state: db.state })));
    expect((await dbs[0]!.state.listTokens()).map((t) => t.role)).toEqual(['admin']);
  });

  it('two nodes raising the same alarm at once: exactly one commits; seqs stay gap-free across both', async () => {
    const [a, b] = await nodes(2) as [PostgresDatabase, PostgresDatabase];
    const race = await Promise.allSettled(Array.from({ length: 10 }, (_, i) => (i % 2 ? a : b).alarms.record(alarm(`r${i}`, 'sd-kitchen'), { type: 'raised', ts: T0 })));
    expect(race.filter((r) => r.status === 'fulfilled')).toHaveLength(1);
    for (const r of race) if (r.status === 'rejected') expect(r.reason).toBeInstanceOf(ActiveAlarmConflictError);
    const many = await Promise.all(Array.from({ length: 40 }, (_, i) => (i % 2 ? a : b).alarms.record(alarm(`m${i}`, `sd-${i}`), { type: 'raised', ts: T0 })));
    expect(many.map((e) => e.seq).sort((x, y) => x - y)).toEqual(Array.from({ length: 40 }, (_, i) => i + 2));
    expect(await a.alarms.lastSeq()).toBe(41);
    expect((await b.alarms.eventsSince(0, 100)).map((e) => e.seq)).toEqual(Array.from({ length: 41 }, (_, i) => i + 1));
  });

  it('the database itself refuses a second active alarm under a key, whatever wrote it', async () => {
    const [a] = await nodes(1) as [PostgresDatabase];
    await a.alarms.record(alarm('a1', 'sd-1'), { type: 'raised', ts: T0 });
    await expect(sql(`INSERT INTO alarms SELECT 'a2', type, originator_kind, originator_id, site, building, severity, status, start_ts, last_update_ts,
      ack_ts, clear_ts, assignee, escalation_level, count, active_key, details, timeline FROM alarms WHERE id = 'a1'`)).rejects.toMatchObject({ code: '23505', constraint: 'alarms_one_active' });
    expect(await sql('SELECT id FROM alarms')).toEqual([{ id: 'a1' }]);
  });

  it('two nodes opening the incident of one kitchen fire at once: exactly one commits', async () => {
    const [a, b] = await nodes(2) as [PostgresDatabase, PostgresDatabase];
    const race = await Promise.allSettled([a, b, a, b].map((n, i) => n.incidents.recordMany([{ incident: incident(`i${i}`), event: { type: 'raised', ts: T0 } }])));
    expect(race.filter((r) => r.status === 'fulfilled')).toHaveLength(1);
    for (const r of race) if (r.status === 'rejected') expect(r.reason).toBeInstanceOf(ActiveIncidentConflictError);
    expect((await b.incidents.list({ limit: 10, offset: 0 })).total).toBe(1);
    expect(await a.incidents.lastSeq()).toBe(1);
  });

  it('while PostgreSQL restarts a node answers StoreUnavailableError (category unavailable), then works again without a restart', async () => {
    const [a] = await nodes(1) as [PostgresDatabase];
    await a.state.createDevice({ id: 'sd-1', kind: 'smoke_detector', site: 's1', building: 'b1' }, 'h', T0);
    expect(await a.ping()).toMatchObject({ ok: true });
    // /health as the hub builds it, with this node's PostgreSQL as its state check.
    const health = buildHealth({
      spool: { stats: () => ({ depth: 0, bytes: 0, quotaBytes: 1, full: false, refusedTotal: 0 }) as never },
      forwarder: { stats: () => ({ forwarded: 0, failures: 0, dropped: 0, retrying: false }) as never },
      pipeline: { stats: () => ({ received: 0, accepted: 0, duplicates: 0, rejected: 0, refused: 0 }) },
      latest: { size: () => 0 },
      state: a,
    });
    expect((await health()).checks.state?.status).toBe('ok');
    await server.stop();
    expect(await a.ping()).toMatchObject({ ok: false, error: expect.any(String) });
    expect(await health()).toMatchObject({ status: 'degraded', checks: { state: { status: 'degraded', detail: expect.stringMatching(/^PostgreSQL does not answer/) } } });
    await expect(a.state.getDevice('sd-1')).rejects.toBeInstanceOf(StoreUnavailableError);
    await expect(a.alarms.record(alarm('x', 'sd-1'), { type: 'raised', ts: T0 })).rejects.toBeInstanceOf(StoreUnavailableError);
    await server.start();
    expect(await a.ping()).toMatchObject({ ok: true });
    expect((await health()).status).toBe('ok');
    expect(await a.state.getDevice('sd-1')).toMatchObject({ id: 'sd-1' });
    expect((await a.alarms.record(alarm('x', 'sd-1'), { type: 'raised', ts: T0 })).seq).toBe(1);
  });

  it('a node listening for registry changes hears them from another node, and catches up after PostgreSQL restarts', async () => {
    const [a, b] = await nodes(2) as [PostgresDatabase, PostgresDatabase];
    const directory = createDeviceDirectory({ state: a.state });
    await directory.load();
    const listener = createNotificationListener({ url }, {
      logger, channels: [deviceChannel], onNotify: (_c, payload) => void directory.refresh(payload.slice(2), payload.startsWith('s:')),
      onResync: () => directory.load(),
    });
    await listener.start();
    try {
      await b.state.createDevice({ id: 'sd-b1', kind: 'smoke_detector', site: 's1', building: 'b1' }, 'h', T0);
      await vi.waitFor(() => expect(directory.get('sd-b1')).toBeDefined(), { timeout: 5_000, interval: 20 });
      await b.state.updateDevice('sd-b1', { location: '厨房' });
      await vi.waitFor(() => expect(directory.get('sd-b1')?.location).toBe('厨房'), { timeout: 5_000, interval: 20 });
      // A's listener loses its connection; what B changes meanwhile arrives through the resync.
      await server.stop();
      await server.start();
      await vi.waitFor(() => b.state.createDevice({ id: 'sd-b2', kind: 'smoke_detector', site: 's1', building: 'b1' }, 'h', T0), { timeout: 10_000, interval: 100 });
      await b.state.deleteDevice('sd-b1');
      await vi.waitFor(() => {
        expect(directory.get('sd-b2')).toBeDefined();
        expect(directory.get('sd-b1')).toBeUndefined();
      }, { timeout: 15_000, interval: 50 });
    } finally {
      await listener.stop();
    }
  });

  it('a listener whose new connection is lost again during its resync reconnects once more, and hears the next change', async () => {
    // Found in review: the reconnect loop returned after the resync although the connection it had
    // just made was gone; nothing reconnected again and the node never heard another node's change.
    await nodes(1);
    const heard: string[] = [];
    let resyncs = 0;
    const resync = holdPoint();
    const losses: string[] = [];
    const watching = pino({ level: 'warn' }, { write: (line: string) => { losses.push((JSON.parse(line) as { msg: string }).msg); } });
    const listener = createNotificationListener({ url }, {
      logger: watching, channels: [deviceChannel], onNotify: (_c, payload) => heard.push(payload),
      onResync: async () => {
        resyncs += 1;
        if (resyncs === 1) {
          resync.reach();
          await resync.released;
        }
      },
    });
    await listener.start();
    const admin = new pg.Client({ connectionString: url });
    await admin.connect();
    const kill = () => admin.query(`SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = 'anju-listen' AND pid <> pg_backend_pid()`);
    try {
      await kill();
      await resync.reached;
      await kill();
      // The listener has seen its second connection go (while its resync is still held).
      await vi.waitFor(() => expect(losses.filter((m) => m.includes('lost its connection'))).toHaveLength(2), { timeout: 5_000, interval: 20 });
      resync.release();
      await vi.waitFor(() => expect(resyncs).toBe(2), { timeout: 15_000, interval: 50 });
      await admin.query(`SELECT pg_notify('${deviceChannel}', 'd:after')`);
      await vi.waitFor(() => expect(heard).toContain('d:after'), { timeout: 5_000, interval: 20 });
    } finally {
      await admin.end();
      await listener.stop();
    }
  }, 30_000);
});
