import { mkdir } from 'node:fs/promises';
import { resolve } from 'node:path';
import type { Logger } from 'pino';
import { collectDefaultMetrics, Gauge, Registry } from 'prom-client';
import { createApp } from '../api/app.js';
import { ensureAdminToken } from '../api/bootstrap.js';
import { createBroker, serviceAccountFromPassword, type AnjuBroker } from '../broker/index.js';
import type { AnjuConfig } from '../core/config.js';
import { topics } from '../core/index.js';
import { createFleet } from '../devices-sim/index.js';
import {
  anjuTelemetryRoute, createDefaultTopicMapper, createInProcessSource, createMqttClientSource, createPipeline, createRejectLog,
  createTopicMapper, defaultPipelineConfig, type IngestSource,
} from '../ingest/index.js';
import { createDeviceDirectory, createEmbeddedDatabase, createLatestCache } from '../storage/index.js';
import { seedDemoCommunity } from './demo.js';
import { startAlerts } from './alerts.js';
import { startOpsExport } from './ops-export.js';
import { startReports } from './reports.js';
import { buildHealth } from './health.js';
import { openTelemetryPath, selectTelemetryStore } from './telemetry-path.js';

export type Role = 'all' | 'broker' | 'hub';

export interface RunningPlatform {
  readonly role: Role;
  readonly urls: { mqtt?: string; ws?: string; http?: string; docs?: string };
  /** A bootstrap admin token generated on this start (printed once, never logged). */
  readonly generatedAdminToken?: string;
  stop(): Promise<void>;
}

/**
 * The composition root: builds each part with its config and dependencies, in the order the data
 * flows, and stops them in reverse so nothing in flight is lost (sources first, then the writer's
 * flush, then the store).
 */
export async function startPlatform(config: AnjuConfig, role: Role, deps: { logger: Logger }): Promise<RunningPlatform> {
  const { logger } = deps;
  const stops: Array<() => Promise<void>> = [];
  const stop = async () => {
    for (const fn of stops.reverse()) {
      // Bounded: a store that never recovers must not keep the process from exiting.
      let timer: NodeJS.Timeout | undefined;
      const timeout = new Promise<never>((_, reject) => { timer = setTimeout(() => reject(new Error('timed out after 20 s')), 20_000); });
      try {
        await Promise.race([fn(), timeout]);
      } catch (err) {
        logger.error({ err }, 'error while stopping; continuing with the next part');
      } finally {
        clearTimeout(timer);
      }
    }
  };

  try {
    const dataDir = resolve(config.dataDir);
    await mkdir(dataDir, { recursive: true });
    const metrics = new Registry();
    collectDefaultMetrics({ register: metrics, prefix: 'anju_process_' });

    const db = await createEmbeddedDatabase({ dataDir, memoryLimit: config.duckdb.memoryLimit, threads: config.duckdb.threads }, { logger });
    stops.push(() => db.close());
    const directory = createDeviceDirectory({ state: db.state });
    await directory.load();

    const runSim = config.sim ?? role === 'all';
    const fleetCredentials = runSim && role !== 'hub' ? await seedDemoCommunity({ state: db.state, directory, logger }) : [];

    let broker: AnjuBroker | undefined;
    if (role === 'all' || role === 'broker') {
      const serviceAccounts = config.ingest.password
        ? [await serviceAccountFromPassword(config.ingest.username, config.ingest.password, {
            publish: ['anju/#'],
            subscribe: [topics.allTelemetry, topics.allStatus, 'anju/alerts/#', '$SYS/#'],
          })]
        : [];
      broker = await createBroker(
        { host: config.mqtt.host, port: config.mqtt.port, wsPort: config.mqtt.wsPort, maxFrameBytes: Math.max(256 * 1024, config.mqtt.maxPayloadBytes * 4), connectRatePerMinute: config.mqtt.connectRatePerMinute, drainTimeoutMs: 30_000 },
        { policy: { authenticateDevice: (id, secret) => directory.verify(id, secret), serviceAccounts }, logger: logger.child({ part: 'broker' }), metrics },
      );
      const b = broker;
      stops.push(() => b.close());
    }

    if (role === 'broker') {
      const urls = { mqtt: `mqtt://${displayHost(config.mqtt.host)}:${broker?.tcpPort}`, ws: `ws://${displayHost(config.mqtt.host)}:${broker?.wsPort}/mqtt` };
      return { role, urls, stop };
    }

    // hub: ingest, alerts, api
    const telemetry = selectTelemetryStore(config, db.telemetry, { logger, metrics, siteTimezone: db.siteTimezone });
    if (telemetry !== db.telemetry) stops.push(() => telemetry.close());
    const path = await openTelemetryPath({ dataDir, quotaBytes: config.spool.quotaBytes, fsync: config.spool.fsync }, { store: telemetry, logger, metrics });
    stops.push(() => path.close());
    const latest = createLatestCache({ store: telemetry });
    // A store that is down at start-up must not keep ingest down: the cache fills as readings arrive.
    await latest.prime().catch((err: Error) => logger.warn({ err: err.message }, 'could not prime latest values from the store; they fill as devices report'));
    const alerts = await startAlerts(config, { store: db.alarms, directory, broker, metrics, logger });
    stops.push(() => alerts.stop());
    // ANJU_STORE=influxdb: alarm events and fleet status for Grafana; stopped before the engine closes.
    const stopOpsExport = startOpsExport(config, { engine: alerts.engine, alarms: db.alarms, directory, latest, metrics, logger });
    if (stopOpsExport) stops.push(stopOpsExport);
    const reports = await startReports(config, { telemetry, alarms: db.alarms, db, directory, logger });
    stops.push(() => reports.stop());

    const rejects = createRejectLog({ capacity: 1_000 }, { metrics });
    // The embedded broker's devices follow its ACL (devices/{id}/telemetry); an external broker
    // carries whatever ANJU_MQTT_TOPICS maps (Zigbee2MQTT, Tasmota, SenML), decoded per pattern.
    const topicMapper = broker
      ? createDefaultTopicMapper()
      : createTopicMapper({ routes: config.ingest.topics ?? [anjuTelemetryRoute], codecOptions: config.ingest.codecs });
    const pipeline = createPipeline(
      { ...defaultPipelineConfig, maxPayloadBytes: config.mqtt.maxPayloadBytes },
      {
        devices: directory,
        // The spool is durable: a reading it cannot take is refused (no PUBACK), never dropped.
        consumers: [{ name: 'spool', durable: true, accept: (readings) => path.spool.append(readings) }, latest, alerts.engine],
        rejects, logger: logger.child({ part: 'ingest' }), metrics, topics: topicMapper,
      },
    );

    let source: IngestSource;
    if (broker) {
      source = createInProcessSource({}, { broker });
    } else {
      if (!config.ingest.brokerUrl) throw new Error('the hub role needs ANJU_MQTT_URL: the broker its ingest connects to');
      source = createMqttClientSource(
        {
          url: config.ingest.brokerUrl, username: config.ingest.username, password: config.ingest.password, clientId: config.ingest.clientId,
          topics: topicMapper.filters, shareGroup: config.ingest.shareGroup,
        },
        { logger: logger.child({ part: 'ingest-source' }) },
      );
    }
    await source.start((m) => pipeline.handle(m));
    stops.push(() => source.stop());

    const devicesGauge = new Gauge({ name: 'anju_broker_connected_devices', help: 'Devices connected to the embedded broker.', registers: [metrics], collect() { this.set(broker?.connectedDevices() ?? 0); } });
    void devicesGauge;

    const { generated } = await ensureAdminToken(config.adminToken, { state: db.state });
    const app = await createApp(
      { http: { bodyLimit: 64 * 1024 } },
      {
        logger: logger.child({ part: 'api' }), state: db.state, directory, telemetry, latest, rejects, metrics, alerts: { engine: alerts.engine }, reports: reports.api,
        health: buildHealth({ spool: path.spool, forwarder: path.forwarder, pipeline, broker, latest }),
      },
    );
    await app.listen({ host: config.http.host, port: config.http.port });
    stops.push(() => app.close());
    const httpPort = (app.server.address() as { port: number }).port;
    const http = `http://${displayHost(config.http.host)}:${httpPort}`;

    if (broker && fleetCredentials.length > 0) {
      const fleet = createFleet(
        { brokerUrl: `mqtt://127.0.0.1:${broker.tcpPort}`, qos: 1, intervalMs: 10_000, seed: 2026, reconnectMinMs: 1_000, reconnectMaxMs: 30_000 },
        { devices: fleetCredentials, logger: logger.child({ part: 'sim' }) },
      );
      await fleet.start();
      stops.push(() => fleet.stop());
    }

    const urls = {
      http, docs: `${http}/docs`,
      ...(broker ? { mqtt: `mqtt://${displayHost(config.mqtt.host)}:${broker.tcpPort}`, ws: `ws://${displayHost(config.mqtt.host)}:${broker.wsPort}/mqtt` } : {}),
    };
    return { role, urls, generatedAdminToken: generated, stop };
  } catch (err) {
    await stop();
    throw err;
  }
}

function displayHost(host: string): string {
  return host === '0.0.0.0' || host === '::' ? 'localhost' : host;
}
