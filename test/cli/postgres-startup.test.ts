import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import mqtt from 'mqtt';
import pg from 'pg';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { startPlatform, type RunningPlatform } from '../../cli/platform.js';
import { loadConfig } from '../../core/config.js';
import { runTokenCommand } from '../../cli/token.js';
import { influxdAvailability, startInfluxd, type Influxd } from '../helpers/influxd.js';
import { postgresAvailability, startPostgres, type Postgres } from '../helpers/postgres.js';
import { refusal } from '../broker/harness.js';

/**
 * `anju all` with ANJU_POSTGRES_URL: the composition root puts the state stores in PostgreSQL (real
 * Debian PostgreSQL 15 and influxd). Two nodes, each with its own data dir, share one database: a
 * device provisioned through node A's API, with the secret A answered, connects and publishes on
 * node B and is read back on node A; a token minted on A works on B; what A stored is in PostgreSQL.
 */

const logger = pino({ level: 'silent' });
const skip = postgresAvailability().skip ?? influxdAvailability().skip;
const ADMIN = 'postgres-startup-admin-token';

describe.skipIf(skip)(`anju all on PostgreSQL state stores ${skip ?? ''}`, () => {
  let postgres: Postgres;
  let influxd: Influxd;
  let url: string;
  const dirs: string[] = [];
  const nodes: RunningPlatform[] = [];

  beforeAll(async () => {
    [postgres, influxd] = await Promise.all([startPostgres(), startInfluxd({ database: 'anju' })]);
    url = (await postgres.createDatabase()).url;
  });
  afterAll(async () => {
    for (const n of nodes.reverse()) await n.stop();
    await Promise.all([postgres?.cleanup(), influxd?.cleanup()]);
    for (const d of dirs) await rm(d, { recursive: true, force: true });
  });

  async function nodeConfig() {
    const dir = await mkdtemp(join(tmpdir(), 'anju-pg-node-'));
    dirs.push(dir);
    return loadConfig({
      ANJU_DATA_DIR: dir, ANJU_HOST: '127.0.0.1', ANJU_MQTT_PORT: '0', ANJU_WS_PORT: '0', ANJU_HTTP_PORT: '0', ANJU_SIM: '0',
      ANJU_ADMIN_TOKEN: ADMIN, ANJU_DUCKDB_MEMORY: '128MB', ANJU_STORE: 'influxdb', ANJU_INFLUX_URL: influxd.url, ANJU_INFLUX_DB: 'anju',
      ANJU_POSTGRES_URL: url,
    }, 'all');
  }

  async function startNode(): Promise<RunningPlatform> {
    const node = await startPlatform(await nodeConfig(), 'all', { logger });
    nodes.push(node);
    return node;
  }

  const api = async (node: RunningPlatform, method: string, path: string, token: string, body?: unknown) => {
    const res = await fetch(`${node.urls.http}${path}`, {
      method, headers: { authorization: `Bearer ${token}`, ...(body ? { 'content-type': 'application/json' } : {}) },
      ...(body ? { body: JSON.stringify(body) } : {}),
    });
    return { status: res.status, body: (await res.json()) as Record<string, unknown> };
  };

  it('provisions on node A, connects and publishes on node B, with tokens and registry in PostgreSQL', async () => {
    const a = await startNode();
    expect(a.warnings.join('\n')).toMatch(/PostgreSQL/);
    const health = (await (await fetch(`${a.urls.http}/health`)).json()) as { status: string; checks: Record<string, { status: string; detail: string }> };
    expect(health.checks.state).toMatchObject({ status: 'ok', detail: expect.stringMatching(/^PostgreSQL answered in/) });
    const created = await api(a, 'POST', '/api/devices', ADMIN, { id: 'sd-pg-1', kind: 'smoke_detector', site: 's1', building: 'b1' });
    expect(created.status).toBe(201);
    const secret = String(created.body.secret);
    const minted = await api(a, 'POST', '/api/tokens', ADMIN, { name: 'ops', role: 'viewer' });
    expect(minted.status).toBe(201);

    // What A stored is in PostgreSQL: the device (with a hash, never the secret) and both tokens.
    const client = new pg.Client({ connectionString: url });
    await client.connect();
    try {
      const device = (await client.query('SELECT id, secret_hash FROM devices')).rows as { id: string; secret_hash: string }[];
      expect(device.map((d) => d.id)).toEqual(['sd-pg-1']);
      expect(device[0]?.secret_hash).not.toContain(secret);
      expect(Number((await client.query('SELECT count(*) AS n FROM api_tokens')).rows[0].n)).toBe(2);
    } finally {
      await client.end();
    }

    // Node B starts after the provisioning: it knows the device and the token from PostgreSQL.
    const b = await startNode();
    expect((await api(b, 'GET', '/api/devices/sd-pg-1', String(minted.body.token))).body).toMatchObject({ id: 'sd-pg-1', site: 's1' });
    const device = await mqtt.connectAsync(b.urls.mqtt as string, {
      protocolVersion: 4, clientId: 'sd-pg-1', username: 'sd-pg-1', password: secret, reconnectPeriod: 0,
    });
    try {
      // QoS 1: the PUBACK comes once the reading is in B's spool.
      await device.publishAsync('devices/sd-pg-1/telemetry', JSON.stringify({ smoke: 0.01, temperature: 22 }), { qos: 1 });
    } finally {
      await device.endAsync();
    }
    // … and node A reads it back: telemetry is shared through InfluxDB (B's spool forwards it there).
    await vi.waitFor(async () => {
      const series = await api(a, 'GET', '/api/devices/sd-pg-1/telemetry', ADMIN);
      expect(series.body.items).toEqual([expect.objectContaining({ values: expect.objectContaining({ smoke: 0.01, temperature: 22 }) })]);
    }, { timeout: 15_000, interval: 100 });
  });

  it('anju token mints into PostgreSQL while the nodes run, and every node accepts the token', async () => {
    const out: string[] = [];
    const code = await runTokenCommand(['--role', 'operator', '--name', 'night shift'], await nodeConfig(), 'usage', {
      logger, stdout: { write: (t: string) => out.push(t) > 0 },
    });
    expect(code).toBe(0);
    expect(out.join('')).toMatch(/stored in PostgreSQL/);
    const token = /ANJU_ADMIN_TOKEN=(\S+)/.exec(out.join(''))?.[1] as string;
    for (const node of nodes) expect((await api(node, 'GET', '/api/devices/sd-pg-1', token)).status).toBe(200);
  });

  it('a device provisioned, re-keyed or removed on node A is known on node B at once, without a restart (LISTEN/NOTIFY)', async () => {
    const [a, b] = nodes as [RunningPlatform, RunningPlatform];
    const connectOnB = (password: string) => mqtt.connectAsync(b.urls.mqtt as string, {
      protocolVersion: 4, clientId: 'sd-pg-2', username: 'sd-pg-2', password, reconnectPeriod: 0, connectTimeout: 5_000,
    });
    const created = await api(a, 'POST', '/api/devices', ADMIN, { id: 'sd-pg-2', kind: 'smoke_detector', site: 's1', building: 'b2' });
    expect(created.status).toBe(201);
    const first = String(created.body.secret);
    await vi.waitFor(async () => {
      const c = await connectOnB(first);
      await c.endAsync();
    }, { timeout: 10_000, interval: 100 });

    // Rotated on A: B forgets the secret it had verified and cached, and takes the new one.
    const rotated = await api(a, 'POST', '/api/devices/sd-pg-2/secret', ADMIN);
    expect(rotated.status).toBe(200);
    await vi.waitFor(async () => expect([4, 5]).toContain(await refusal(connectOnB(first))), { timeout: 10_000, interval: 100 });
    const c = await connectOnB(String(rotated.body.secret));
    await c.endAsync();

    // Removed on A: refused on B.
    expect((await fetch(`${a.urls.http}/api/devices/sd-pg-2`, { method: 'DELETE', headers: { authorization: `Bearer ${ADMIN}` } })).status).toBe(204);
    await vi.waitFor(async () => expect([4, 5]).toContain(await refusal(connectOnB(String(rotated.body.secret)))), { timeout: 10_000, interval: 100 });
    expect((await api(b, 'GET', '/api/devices/sd-pg-2', ADMIN)).status).toBe(404);
  });

  it('a service account made or removed on node A logs in, or is refused, on node B at once', async () => {
    const [a, b] = nodes as [RunningPlatform, RunningPlatform];
    const created = await api(a, 'POST', '/api/service-accounts', ADMIN, { id: 'bms-gw', publish: ['devices/+/telemetry'], subscribe: [], deny: [] });
    expect(created.status).toBe(201);
    const connectOnB = () => mqtt.connectAsync(b.urls.mqtt as string, {
      protocolVersion: 4, clientId: 'bms-gw:1', username: 'bms-gw', password: String(created.body.secret), reconnectPeriod: 0, connectTimeout: 5_000,
    });
    await vi.waitFor(async () => {
      const c = await connectOnB();
      await c.endAsync();
    }, { timeout: 10_000, interval: 100 });
    expect((await fetch(`${a.urls.http}/api/service-accounts/bms-gw`, { method: 'DELETE', headers: { authorization: `Bearer ${ADMIN}` } })).status).toBe(204);
    await vi.waitFor(async () => expect([4, 5]).toContain(await refusal(connectOnB())), { timeout: 10_000, interval: 100 });
  });
});
