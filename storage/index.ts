import type { Logger } from 'pino';
import type { TelemetryStore } from './contract.js';
import { createEmbeddedDatabase, type EmbeddedDatabaseConfig } from './embedded/index.js';
import { createInfluxStore, type InfluxConfig } from './influxdb/index.js';
import type { StateStore } from './state/contract.js';

export * from './contract.js';
export * from './state/contract.js';
export * from './alarms/contract.js';
export * from './service-accounts/contract.js';
export { createServiceAccountDirectory, type ServiceAccountDirectory, type ServiceAccountChange } from './service-accounts/directory.js';
export * from './incidents/contract.js';
export * from './reports/contract.js';
export { createEmbeddedDatabase, DatabaseClosedError, embeddedDatabaseFile, type EmbeddedDatabase, type EmbeddedDatabaseConfig } from './embedded/index.js';
export { createInfluxStore, type InfluxConfig, type InfluxStoreDeps } from './influxdb/index.js';
// The InfluxDB client itself, for the alarm and fleet-status exporter that writes beside telemetry.
export { createInfluxHttp, type InfluxHttp } from './influxdb/http.js';
export { createDeviceDirectory } from './state/directory.js';
export { createLatestCache } from './latest-cache.js';
export * from './spool/index.js';
export * from './backup/index.js';

/** What a store factory opens: the telemetry store, and the state store when the backend holds one. */
export interface OpenedStores {
  telemetry: TelemetryStore;
  /** The embedded database also holds state; InfluxDB does not (state then needs its own store). */
  state?: StateStore;
  close(): Promise<void>;
}

export interface StoreFactoryConfig {
  /** Used by `embedded`. */
  embedded?: EmbeddedDatabaseConfig;
  /** Used by `influxdb`. */
  influxdb?: InfluxConfig;
}

export type StoreFactory = (config: StoreFactoryConfig, deps: { logger: Logger }) => Promise<OpenedStores>;

/** `ANJU_STORE` → factory. */
export const storeFactories = {
  embedded: async (config, deps) => {
    if (!config.embedded) throw new Error('the embedded store needs its config (dataDir, memoryLimit, threads)');
    return createEmbeddedDatabase(config.embedded, deps);
  },
  // Telemetry only: device, alarm and report state then needs a state store of its own.
  influxdb: async (config, deps): Promise<OpenedStores> => {
    if (!config.influxdb) throw new Error('the influxdb store needs its config (url, and token/org/bucket or db)');
    const telemetry = createInfluxStore(config.influxdb, deps);
    return { telemetry, close: () => telemetry.close() };
  },
} satisfies Record<string, StoreFactory>;

export type StoreName = keyof typeof storeFactories;
