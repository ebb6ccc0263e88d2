import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { afterAll, beforeAll } from 'vitest';
import { startPlatform, type RunningPlatform } from '../../cli/platform.js';
import { loadConfig } from '../../core/config.js';
import { influxdAvailability, startInfluxd, type Influxd } from './influxd.js';
import { postgresAvailability, startPostgres, type Postgres } from './postgres.js';
import { redisAvailability, startRedis, type RedisServer } from './redis.js';

/**
 * `anju all` nodes in cluster mode, in the test process: each with its own data dir, on one
 * PostgreSQL database (`postgresUrl`), one Redis and one InfluxDB 1.x database `anju`, every listener
 * on a free port. `env` adds or overrides settings (a shorter escalation, a higher connect rate).
 */
export async function startClusterNodes(
  count: number,
  servers: { postgresUrl: string; influxUrl: string; redisUrl: string; adminToken: string },
  env: Record<string, string> = {},
): Promise<{ nodes: RunningPlatform[]; dirs: string[] }> {
  const nodes: RunningPlatform[] = [];
  const dirs: string[] = [];
  for (let i = 0; i < count; i++) {
    const dir = await mkdtemp(join(tmpdir(), 'anju-cluster-node-'));
    dirs.push(dir);
    nodes.push(await startPlatform(loadConfig({
      ANJU_DATA_DIR: dir, ANJU_HOST: '127.0.0.1', ANJU_MQTT_PORT: '0', ANJU_WS_PORT: '0', ANJU_HTTP_PORT: '0', ANJU_SIM: '0',
      ANJU_ADMIN_TOKEN: servers.adminToken, ANJU_DUCKDB_MEMORY: '128MB', ANJU_STORE: 'influxdb', ANJU_INFLUX_URL: servers.influxUrl, ANJU_INFLUX_DB: 'anju',
      ANJU_POSTGRES_URL: servers.postgresUrl, ANJU_REDIS_URL: servers.redisUrl, ...env,
    }, 'all'), 'all', { logger: pino({ level: 'silent' }) }));
  }
  return { nodes, dirs };
}

/** Why a cluster test cannot run here (a server missing), or undefined. */
export function clusterSkip(): string | undefined {
  return postgresAvailability().skip ?? influxdAvailability().skip ?? redisAvailability().skip;
}

export interface TestCluster {
  readonly postgres: Postgres;
  readonly influxd: Influxd;
  readonly redis: RedisServer;
  readonly nodes: readonly RunningPlatform[];
  /** Temp dirs removed after the file's tests (the nodes' data dirs, and any the test adds). */
  readonly dirs: string[];
}

/**
 * A cluster for one test file: real PostgreSQL 15, influxd (database `anju`) and redis-server
 * started before its tests, `count` nodes on them (startClusterNodes); all stopped and removed after.
 * Read the fields inside tests or hooks registered after this call.
 */
export function useCluster(count: number, adminToken: string, env: Record<string, string> = {}): TestCluster {
  type Filled = { -readonly [K in keyof TestCluster]: TestCluster[K] } & { nodes: RunningPlatform[] };
  const cluster = { nodes: [] as RunningPlatform[], dirs: [] as string[] } as Filled;
  beforeAll(async () => {
    [cluster.postgres, cluster.influxd, cluster.redis] = await Promise.all([startPostgres(), startInfluxd({ database: 'anju' }), startRedis()]);
    const started = await startClusterNodes(count, {
      postgresUrl: (await cluster.postgres.createDatabase()).url, influxUrl: cluster.influxd.url, redisUrl: cluster.redis.url, adminToken,
    }, env);
    cluster.nodes.push(...started.nodes);
    cluster.dirs.push(...started.dirs);
  }, 120_000);
  afterAll(async () => {
    for (const n of [...cluster.nodes].reverse()) await n.stop().catch(() => undefined);
    await Promise.all([cluster.postgres?.cleanup(), cluster.influxd?.cleanup(), cluster.redis?.cleanup()]);
    for (const d of cluster.dirs) await rm(d, { recursive: true, force: true });
  });
  return cluster;
}

/** Provisions `count` smoke detectors `<prefix>NN` in site s1 through the API; their ids and secrets. */
export async function provisionDetectors(
  api: <T>(method: string, path: string, body?: unknown) => Promise<{ status: number; body: T }>,
  prefix: string, count: number, building = 'b1',
): Promise<Array<{ id: string; secret: string }>> {
  const devices: Array<{ id: string; secret: string }> = [];
  for (let i = 0; i < count; i++) {
    const id = `${prefix}${String(i).padStart(2, '0')}`;
    const r = await api<{ secret: string }>('POST', '/api/devices', { id, kind: 'smoke_detector', site: 's1', building });
    if (r.status !== 201) throw new Error(`provisioning ${id} answered ${r.status}`);
    devices.push({ id, secret: r.body.secret });
  }
  return devices;
}
