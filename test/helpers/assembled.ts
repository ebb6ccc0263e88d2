import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { Registry } from 'prom-client';
import { assembleBroker, type AssembledBroker, type AssembledHub } from '../../cli/assemble/index.js';
import { loadConfig, type AnjuConfig } from '../../core/config.js';
import {
  createDeviceDirectory, createEmbeddedDatabase, createServiceAccountDirectory, type DeviceDirectory, type EmbeddedDatabase, type ServiceAccountDirectory,
} from '../../storage/index.js';

export const silentLogger = pino({ level: 'silent' });

export interface AssembledParts {
  config: AnjuConfig;
  db: EmbeddedDatabase;
  directory: DeviceDirectory;
  serviceAccounts: ServiceAccountDirectory;
  metrics: Registry;
  /** Built, not open. */
  broker: AssembledBroker;
}

/** The parts `anju all` assembles before the hub, on `config.dataDir` as it is (a restart opens them again on the same dir). */
export async function openParts(config: AnjuConfig): Promise<AssembledParts> {
  const db = await createEmbeddedDatabase({ dataDir: config.dataDir, memoryLimit: config.duckdb.memoryLimit, threads: 1 }, { logger: silentLogger });
  const directory = createDeviceDirectory({ state: db.state });
  const serviceAccounts = createServiceAccountDirectory({ store: db.serviceAccounts });
  await directory.load();
  await serviceAccounts.load();
  const metrics = new Registry();
  const broker = await assembleBroker(config, { directory, serviceAccounts, logger: silentLogger, metrics });
  return { config, db, directory, serviceAccounts, metrics, broker };
}

/**
 * The parts `anju all` assembles (cli/assemble/), on a fresh data dir and ephemeral ports, for tests
 * that assemble the hub themselves; `cleanup()` closes whatever was made, in the CLI's order.
 */
export function assembledNode() {
  let dir: string | undefined;
  let parts: AssembledParts | undefined;
  let hub: AssembledHub | undefined;
  return {
    async prepare(env: Record<string, string>): Promise<AssembledParts> {
      dir = await mkdtemp(join(tmpdir(), 'anju-assembled-'));
      parts = await openParts(loadConfig({ ANJU_DATA_DIR: dir, ANJU_HOST: '127.0.0.1', ANJU_MQTT_PORT: '0', ANJU_WS_PORT: '0', ANJU_HTTP_PORT: '0', ...env }, 'all'));
      return parts;
    },
    /** Remembers the hub so cleanup stops it. */
    track(h: AssembledHub): AssembledHub {
      hub = h;
      return h;
    },
    async cleanup(): Promise<void> {
      await parts?.broker.close();
      await hub?.stop();
      await parts?.db.close();
      if (dir) await rm(dir, { recursive: true, force: true });
      dir = parts = hub = undefined;
    },
  };
}
