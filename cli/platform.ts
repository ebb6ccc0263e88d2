import { mkdir } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import type { Logger } from 'pino';
import { collectDefaultMetrics, Gauge, Registry } from 'prom-client';
import { createApp } from '../api/app.js';
import { ensureAdminToken } from '../api/bootstrap.js';
import { createBroker, defaultIngestDelivery, type AnjuBroker } from '../broker/index.js';
import type { AnjuConfig } from '../core/config.js';
import { ingestAccountRights, topics } from '../core/index.js';
import { createFleet } from '../devices-sim/index.js';
import {
  anjuTelemetryRoute, createDefaultTopicMapper, createInProcessSource, createMqttClientSource, createPipeline, createRejectLog,
  createTopicMapper, defaultPipelineConfig, type IngestSource,
} from '../ingest/index.js';
import { createBackupStaging, createDeviceDirectory, createEmbeddedDatabase, createLatestCache, createServiceAccountDirectory } from '../storage/index.js';
import { seedDemoCommunity } from './demo.js';
import { startAlerts } from './alerts.js';
import { startOpsExport } from './ops-export.js';
import { startReports } from './reports.js';
import { buildHealth } from './health.js';
import { openTelemetryPath, selectTelemetryStore } from './telemetry-path.js';
import { listenHttps, loadTlsMaterial } from './tls.js';
import { startBackupSchedule } from './backup-schedule.js';

export type Role = 'all' | 'broker' | 'hub';

export interface RunningPlatform {
  readonly role: Role;
  /** What listens; a listener switched off (ANJU_PLAINTEXT=0, no TLS) has no URL. */
  readonly urls: { mqtt?: string; ws?: string; http?: string; docs?: string; mqtts?: string; wss?: string; https?: string };
  /** A bootstrap admin token generated on this start (printed once, never logged). */
  readonly generatedAdminToken?: string;
  stop(): Promise<void>;
}

/**
 * The composition root: builds each part with its config and dependencies, in the order the data
 * flows, and opens the broker's listeners last, once everything a publish needs (ingest, spool,
 * store, latest cache, alerts) is attached. It stops in the opposite order so nothing in flight is
 * lost: first what brings messages in (the demo fleet, then the broker — which refuses new
 * publishes and answers those in flight — then the ingest source), then the parts in reverse (the
 * writer's flush before the store).
 */
export async function startPlatform(config: AnjuConfig, role: Role, deps: { logger: Logger }): Promise<RunningPlatform> {
  const { logger } = deps;
  /** What brings messages in, stopped first, in this order. */
  const inputs: Array<() => Promise<void>> = [];
  /** The parts, stopped after the inputs, in reverse start order. */
  const stops: Array<() => Promise<void>> = [];
  const stop = async () => {
    for (const fn of [...inputs.splice(0), ...stops.splice(0).reverse()]) {
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
    // Read first: a certificate that cannot be used stops start-up before anything listens.
    const tls = config.tls ? await loadTlsMaterial(config.tls, { logger, metrics }) : undefined;
    if (tls) stops.push(async () => tls.stop());

    const db = await createEmbeddedDatabase({ dataDir, memoryLimit: config.duckdb.memoryLimit, threads: config.duckdb.threads }, { logger });
    stops.push(() => db.close());
    // A device and a service account never share an id: the MQTT username names one principal.
    const directory = createDeviceDirectory({ state: db.state, isTaken: (id) => serviceAccounts.get(id) !== undefined });
    const serviceAccounts = createServiceAccountDirectory({ store: db.serviceAccounts, isTaken: (id) => directory.get(id) !== undefined });
    await directory.load();
    await serviceAccounts.load();

    const runSim = config.sim ?? role === 'all';
    const fleetCredentials = runSim && role !== 'hub' ? await seedDemoCommunity({ state: db.state, directory, logger }) : [];

    let broker: AnjuBroker | undefined;
    if (role === 'all' || role === 'broker') {
      // The ingest account exists exactly while ANJU_INGEST_PASSWORD is set (its rights: core/service-accounts.ts).
      await serviceAccounts.syncFromEnvironment(config.ingest.password
        ? [{ id: config.ingest.username, password: config.ingest.password, rights: ingestAccountRights }]
        : []);
      broker = await createBroker(
        {
          host: config.mqtt.host, port: config.mqtt.port, wsPort: config.mqtt.wsPort, maxFrameBytes: Math.max(256 * 1024, config.mqtt.maxPayloadBytes * 4),
          connectRatePerMinute: config.mqtt.connectRatePerMinute, drainTimeoutMs: 30_000,
          // `all` ingests in this process; the `broker` role's ingest is a hub's persistent session.
          ingest: role === 'broker' ? { via: 'subscribers', topics: [topics.allTelemetry] } : defaultIngestDelivery,
          plaintext: config.plaintext,
          ...(config.tls && tls ? {
            tls: {
              port: config.tls.mqttsPort, wsPort: config.tls.wssPort, context: tls.context,
              clientCerts: !config.tls.caFile ? 'none' as const : config.tls.requireClientCert ? 'required' as const : 'optional' as const,
            },
          } : {}),
        },
        {
          policy: {
            authenticateDevice: (id, secret) => directory.verify(id, secret),
            deviceRegistered: (id) => directory.get(id) !== undefined,
            serviceAccount: (username) => {
              const a = serviceAccounts.get(username);
              return a && { username: a.id, passwordHash: a.secretHash, publish: a.publish, subscribe: a.subscribe, deny: a.deny };
            },
          },
          logger: logger.child({ part: 'broker' }), metrics,
        },
      );
      const b = broker;
      tls?.onReload((context) => b.setSecureContext(context));
      // A deleted account, or one with a new secret, keeps no connection opened with the old one.
      serviceAccounts.onChange((id, change) => {
        if (change === 'deleted' || change === 'secret_rotated') b.disconnect({ kind: 'service', name: id });
      });
      inputs.push(() => b.close());
    }

    if (role === 'broker') {
      await broker?.open();
      return { role, urls: broker ? brokerUrls(config.mqtt.host, broker) : {}, stop };
    }

    // hub: ingest, alerts, api
    const telemetry = selectTelemetryStore(config, db.telemetry, { logger, metrics, siteTimezone: db.siteTimezone });
    if (telemetry !== db.telemetry) stops.push(() => telemetry.close());
    const path = await openTelemetryPath({ dataDir, quotaBytes: config.spool.quotaBytes, fsync: config.spool.fsync }, { store: telemetry, logger, metrics });
    stops.push(() => path.close());
    const latest = createLatestCache({ store: telemetry });
    // A store that is down at start-up must not keep ingest down: the cache fills as readings arrive.
    await latest.prime().catch((err: Error) => logger.warn({ err: err.message }, 'could not prime latest values from the store; they fill as devices report'));
    const alerts = await startAlerts(config, { store: db.alarms, incidents: db.incidents, directory, state: db.state, broker, metrics, logger });
    stops.push(() => alerts.stop());
    // ANJU_STORE=influxdb: alarm events and fleet status for Grafana; stopped before the engine closes.
    const stopOpsExport = startOpsExport(config, { engine: alerts.engine, alarms: db.alarms, directory, latest, metrics, logger });
    if (stopOpsExport) stops.push(stopOpsExport);
    const reports = await startReports(config, { telemetry, alarms: db.alarms, db, directory, logger });
    stops.push(() => reports.stop());

    const backupSource = { dataDir, snapshot: (file: string) => db.snapshot(file) };
    if (config.backupSchedule) {
      const schedule = startBackupSchedule(config.backupSchedule, { source: backupSource, logger, metrics });
      stops.push(() => schedule.stop());
    }

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
    const devicesGauge = new Gauge({ name: 'anju_broker_connected_devices', help: 'Devices connected to the embedded broker.', registers: [metrics], collect() { this.set(broker?.connectedDevices() ?? 0); } });
    void devicesGauge;

    // The API before the broker: building it is a few hundred ms of CPU-bound work that, once the
    // broker listens, would hold up the devices' first CONNECTs after a restart.
    const { generated } = await ensureAdminToken(config.adminToken, { state: db.state });
    const app = await createApp(
      { http: { bodyLimit: 64 * 1024 } },
      {
        logger: logger.child({ part: 'api' }), state: db.state, directory, telemetry, latest, rejects, metrics, alerts: { engine: alerts.engine, incidents: alerts.incidents }, reports: reports.api,
        ...(broker ? { serviceAccounts } : {}),
        // `anju backup`: the database snapshot and the spool, staged under the data dir.
        backups: createBackupStaging({ dir: join(dataDir, 'backups') }, { source: backupSource }),
        health: buildHealth({ spool: path.spool, forwarder: path.forwarder, pipeline, broker, latest }),
      },
    );
    stops.push(() => app.close());
    let http: string | undefined;
    if (config.plaintext) {
      await app.listen({ host: config.http.host, port: config.http.port });
      http = `http://${displayHost(config.http.host)}:${(app.server.address() as { port: number }).port}`;
    } else {
      await app.ready();
    }
    let https: string | undefined;
    if (config.tls && tls) {
      // Closed before the app (stops run in reverse), so no request arrives at a closed app.
      const listener = await listenHttps(config.http.host, config.tls.httpsPort, tls, (req, res) => app.routing(req, res));
      stops.push(() => listener.close());
      https = `https://${displayHost(config.http.host)}:${listener.port}`;
    }
    const web = http ?? https;

    await source.start((m) => pipeline.handle(m));
    inputs.push(() => source.stop());
    // Everything a publish needs is attached: only now may devices connect.
    await broker?.open();

    if (broker && fleetCredentials.length > 0) {
      const fleet = createFleet(
        {
          // TLS only: the demo devices reach this process over loopback, where the certificate's
          // host name cannot match; they skip the check (real devices must not).
          ...(broker.tcpPort ? { brokerUrl: `mqtt://127.0.0.1:${broker.tcpPort}` } : { brokerUrl: `mqtts://127.0.0.1:${broker.tlsPort}`, rejectUnauthorized: false }),
          qos: 1, intervalMs: 10_000, seed: 2026, reconnectMinMs: 1_000, reconnectMaxMs: 30_000 },
        { devices: fleetCredentials, logger: logger.child({ part: 'sim' }) },
      );
      await fleet.start();
      inputs.unshift(() => fleet.stop());
    }

    const urls = {
      http, https, docs: `${web}/docs`,
      ...(broker ? brokerUrls(config.mqtt.host, broker) : {}),
    };
    return { role, urls, generatedAdminToken: generated, stop };
  } catch (err) {
    await stop();
    throw err;
  }
}

/** The broker's URLs, for the listeners that are open. */
function brokerUrls(host: string, broker: AnjuBroker): { mqtt?: string; ws?: string; mqtts?: string; wss?: string } {
  const h = displayHost(host);
  return {
    ...(broker.tcpPort ? { mqtt: `mqtt://${h}:${broker.tcpPort}`, ws: `ws://${h}:${broker.wsPort}/mqtt` } : {}),
    ...(broker.tlsPort ? { mqtts: `mqtts://${h}:${broker.tlsPort}`, wss: `wss://${h}:${broker.wssPort}/mqtt` } : {}),
  };
}

function displayHost(host: string): string {
  return host === '0.0.0.0' || host === '::' ? 'localhost' : host;
}
