import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { startPlatform, type RunningPlatform } from '../../cli/platform.js';
import { loadConfig } from '../../core/config.js';

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
