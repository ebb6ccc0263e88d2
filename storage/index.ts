export * from './contract.js';
export * from './state/contract.js';
export * from './alarms/contract.js';
export * from './service-accounts/contract.js';
export { createServiceAccountDirectory, type ServiceAccountDirectory, type ServiceAccountChange } from './service-accounts/directory.js';
export * from './accounts/contract.js';
export * from './audit/contract.js';
export * from './rosters/contract.js';
export * from './incidents/contract.js';
export * from './reports/contract.js';
export * from './responses/contract.js';
export { createEmbeddedDatabase, DatabaseClosedError, embeddedDatabaseFile, type EmbeddedDatabase, type EmbeddedDatabaseConfig } from './embedded/index.js';
export { createDiskMonitor, DiskFullError, statfsProbe, type DiskMonitor, type DiskProbe, type DiskSpace, type DiskStats } from './disk.js';
// Cluster mode (in progress): the state stores on PostgreSQL.
export { createPostgres, type PostgresConfig, type PostgresDatabase } from './postgres/index.js';
export { createInfluxStore, type InfluxConfig, type InfluxStoreDeps } from './influxdb/index.js';
// The InfluxDB client itself, for the alarm and fleet-status exporter that writes beside telemetry.
export { createInfluxHttp, type InfluxHttp } from './influxdb/http.js';
export { createDeviceDirectory } from './state/directory.js';
export { createLatestCache } from './latest-cache.js';
export * from './spool/index.js';
export * from './backup/index.js';
