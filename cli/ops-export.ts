import type { Logger } from 'pino';
import type { Registry } from 'prom-client';
import type { AlertEngine } from '../alerts/index.js';
import { createOpsExporter } from '../alerts/exporters/influxdb.js';
import type { AnjuConfig } from '../core/config.js';
import type { AlarmStore, DeviceDirectory, LatestCache } from '../storage/index.js';

/**
 * With `ANJU_STORE=influxdb`, the alarm & fleet status exporter feeds Grafana's control-room
 * overview (alarm events and a fleet status point per building every ANJU_OPS_STATUS_INTERVAL_S).
 * Returns its stop, or undefined when the store is the embedded one (nothing to export to).
 */
export function startOpsExport(
  config: AnjuConfig,
  deps: { engine: AlertEngine; alarms: AlarmStore; directory: DeviceDirectory; latest: LatestCache; metrics: Registry; logger: Logger },
): (() => Promise<void>) | undefined {
  if (config.store !== 'influxdb') return undefined;
  const exporter = createOpsExporter(
    { influx: config.influx, statusIntervalMs: config.opsExport.statusIntervalMs },
    { engine: deps.engine, lastSeq: () => deps.alarms.lastSeq(), devices: deps.directory, latest: deps.latest, logger: deps.logger, metrics: deps.metrics },
  );
  exporter.start();
  return () => exporter.stop();
}
