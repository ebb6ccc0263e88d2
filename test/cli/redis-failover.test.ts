import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import mqtt from 'mqtt';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { startPlatform, type RunningPlatform } from '../../cli/platform.js';
import { loadConfig } from '../../core/config.js';
import { startAnju, type AnjuProcess } from '../helpers/anju-process.js';
import { influxdAvailability, startInfluxd, type Influxd } from '../helpers/influxd.js';
import { postgresAvailability, startPostgres, type Postgres } from '../helpers/postgres.js';
import { redisAvailability, startRedis, type RedisServer } from '../helpers/redis.js';

/**
 * A node that dies (SIGKILL: no Will sent, no goodbye) in cluster mode, with real Debian redis-server,
 * PostgreSQL 15 and influxd: node A is a separate `anju all` process, node B runs here, both with a
 * 1 s cluster heartbeat. A device connected to A with a Will goes silent with it; node B notices A's
 * heartbeats stopped, publishes the device's stored Will (Aedes `_clearWills`, through
 * aedes-persistence-redis) and its alarm rules raise `offline` (a lost connection); when the device
 * comes back on B, the alarm clears.
 */

const logger = pino({ level: 'silent' });
const skip = postgresAvailability().skip ?? influxdAvailability().skip ?? redisAvailability().skip;
const ADMIN = 'redis-failover-admin-token';

describe.skipIf(skip)(`cluster mode: a node killed ${skip ?? ''}`, () => {
  let postgres: Postgres;
  let influxd: Influxd;
  let redis: RedisServer;
  let a: AnjuProcess | undefined;
  let b: RunningPlatform | undefined;
  const dirs: string[] = [];
  let env: Record<string, string>;

  beforeAll(async () => {
    [postgres, influxd, redis] = await Promise.all([startPostgres(), startInfluxd({ database: 'anju' }), startRedis()]);
    const url = (await postgres.createDatabase()).url;
    env = {
      ANJU_SIM: '0', ANJU_ADMIN_TOKEN: ADMIN, ANJU_DUCKDB_MEMORY: '128MB', ANJU_STORE: 'influxdb', ANJU_INFLUX_URL: influxd.url,
      ANJU_INFLUX_DB: 'anju', ANJU_POSTGRES_URL: url, ANJU_REDIS_URL: redis.url, ANJU_CLUSTER_HEARTBEAT_S: '1',
    };
    const dirB = await mkdtemp(join(tmpdir(), 'anju-failover-b-'));
    const dirA = await mkdtemp(join(tmpdir(), 'anju-failover-a-'));
    dirs.push(dirA, dirB);
    b = await startPlatform(loadConfig({ ...env, ANJU_DATA_DIR: dirB, ANJU_HOST: '127.0.0.1', ANJU_MQTT_PORT: '0', ANJU_WS_PORT: '0', ANJU_HTTP_PORT: '0' }, 'all'), 'all', { logger });
    a = await startAnju('all', { ...env, ANJU_DATA_DIR: dirA });
  }, 120_000);
  afterAll(async () => {
    a?.child.kill('SIGKILL');
    await b?.stop();
    await Promise.all([postgres?.cleanup(), influxd?.cleanup(), redis?.cleanup()]);
    for (const d of dirs) await rm(d, { recursive: true, force: true });
  });

  const api = async (method: string, path: string, body?: unknown) => {
    const res = await fetch(`${b?.urls.http}${path}`, {
      method, headers: { authorization: `Bearer ${ADMIN}`, ...(body ? { 'content-type': 'application/json' } : {}) },
      ...(body ? { body: JSON.stringify(body) } : {}),
    });
    return { status: res.status, body: (await res.json()) as Record<string, unknown> };
  };

  it('the device of a killed node is reported offline by another node, and clears when it comes back there', async () => {
    const created = await api('POST', '/api/devices', { id: 'sd-failover', kind: 'smoke_detector', site: 's1', building: 'b1' });
    expect(created.status).toBe(201);
    const password = String(created.body.secret);
    const options = (url: string): [string, mqtt.IClientOptions] => [url, {
      protocolVersion: 4, clientId: 'sd-failover', username: 'sd-failover', password, reconnectPeriod: 0,
      will: { topic: 'devices/sd-failover/status', payload: Buffer.from('offline'), qos: 1, retain: true },
    }];
    // Provisioned on B, known on A at once (LISTEN/NOTIFY); connected to A.
    const onA = await vi.waitFor(() => mqtt.connectAsync(...options(a?.mqtt ?? '')), { timeout: 10_000, interval: 200 });
    await onA.publishAsync('devices/sd-failover/telemetry', JSON.stringify({ ts: Date.now(), smoke: 0.01, seq: 1 }), { qos: 1 });
    onA.on('error', () => undefined);

    // While A lives (its heartbeats reach B), B publishes none of A's devices' Wills: no offline alarm
    // over more than one of B's Will sweeps (every 4 heartbeats).
    await new Promise((r) => setTimeout(r, 6_000));
    const before = await api('GET', '/api/alerts?site=s1');
    expect((before.body.items as Array<{ type: string; originator: { id: string } }>).filter((x) => x.originator.id === 'sd-failover')).toEqual([]);

    const killedAt = Date.now();
    a?.child.kill('SIGKILL');
    const offline = await vi.waitFor(async () => {
      const listed = await api('GET', '/api/alerts?site=s1');
      const found = (listed.body.items as Array<{ id: string; type: string; status: string; originator: { id: string }; details: Record<string, unknown> }>)
        .find((x) => x.originator.id === 'sd-failover' && x.type === 'offline');
      if (!found) throw new Error('no offline alarm yet');
      return found;
    }, { timeout: 30_000, interval: 250 });
    console.log(`cluster failover: offline alarm on node B ${((Date.now() - killedAt) / 1000).toFixed(1)} s after node A was killed (heartbeat 1 s)`);
    expect(offline).toMatchObject({ status: 'active_unack', details: expect.objectContaining({ reason: 'lost' }) });
    await onA.endAsync(true);

    // The device comes back, on B: its own node now, whose rules raised the alarm, clear it.
    const onB = await mqtt.connectAsync(...options(b?.urls.mqtt ?? ''));
    try {
      await vi.waitFor(async () => expect((await api('GET', `/api/alerts/${offline.id}`)).body.status).toBe('cleared_unack'), { timeout: 10_000, interval: 200 });
    } finally {
      await onB.endAsync();
    }
  }, 90_000);
});
