import { join, resolve } from 'node:path';
import type { Logger } from 'pino';
import { collectDefaultMetrics, Gauge, Registry } from 'prom-client';
import { createApp } from '../api/app.js';
import { ensureAdminToken } from '../api/bootstrap.js';
import { createBroker, defaultIngestDelivery, type AnjuBroker } from '../broker/index.js';
import { ConfigError, type AnjuConfig } from '../core/config.js';
import { ingestAccountRights, topics } from '../core/index.js';
import { createFleet, parseScenario, type Fleet } from '../devices-sim/index.js';
import {
  anjuTelemetryRoute, createDefaultTopicMapper, createInProcessSource, createMqttClientSource, createPipeline, createRejectLog,
  createTopicMapper, defaultPipelineConfig, type IngestSource,
} from '../ingest/index.js';
import { createBackupStaging, createDeviceDirectory, createEmbeddedDatabase, createLatestCache, createServiceAccountDirectory } from '../storage/index.js';
import { seedDemoCommunity } from './demo.js';
import { fleetHistory, planDemoHistory, startDemoBackfill } from './demo-history.js';
import { startAlerts } from './alerts.js';
import { startOpsExport } from './ops-export.js';
import { startReports } from './reports.js';
import { buildHealth } from './health.js';
import { openTelemetryPath, selectTelemetryStore } from './telemetry-path.js';
import { listenHttps, loadTlsMaterial } from './tls.js';
import { startBackupSchedule } from './backup-schedule.js';
import { listenError, prepareDataDir } from './startup-errors.js';

export type Role = 'all' | 'broker' | 'hub';

/** The demo fleet's random seed; `anju sim backfill` defaults to it, so both draw the same devices. */
const DEMO_SEED = 2026;

export interface RunningPlatform {
  readonly role: Role;
  /** What listens; a listener switched off (ANJU_PLAINTEXT=0, no TLS) has no URL. */
  readonly urls: { mqtt?: string; ws?: string; http?: string; docs?: string; mqtts?: string; wss?: string; https?: string };
  /** A bootstrap admin token generated on this start (printed once, never logged). */
  readonly generatedAdminToken?: string;
  /** What the operator must know at start-up although Anju runs (an unreachable store, say); shown in the banner. */
  readonly warnings: readonly string[];
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
export async function startPlatform(config: AnjuConfig, role: Role, deps: { logger: Logger; version?: string }): Promise<RunningPlatform> {
  const { logger } = deps;
  // Before anything opens a file: the hub's one required setting.
  if (role === 'hub' && !config.ingest.brokerUrl) {
    throw new ConfigError(
      'anju hub needs ANJU_MQTT_URL: the broker its ingest subscribes to, e.g. ANJU_MQTT_URL=mqtt://broker.example:1883\n' +
      '  (with ANJU_INGEST_PASSWORD, the password of its service account on that broker). To run broker and hub in one process, use `anju all`.',
    );
  }
  const warnings: string[] = [];
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
    await prepareDataDir(dataDir);
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
    const demo = runSim && role !== 'hub' ? await seedDemoCommunity({ state: db.state, directory, logger }) : undefined;
    const fleetCredentials = demo?.credentials ?? [];
    // The demo's recent history (demo-history.ts): planned on the start that registers it.
    const demoHistory = demo ? await planDemoHistory(dataDir, { created: demo.createdNow, days: config.demoHistoryDays, seed: DEMO_SEED, now: Date.now() }) : undefined;
    let demoHistoryWritten: () => void = () => undefined;
    const historyReady = demoHistory && !demoHistory.completedAt ? new Promise<void>((r) => { demoHistoryWritten = r; }) : undefined;

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

    const openBroker = async () => {
      try {
        await broker?.open();
      } catch (err) {
        // Which listener failed: the error carries the port it tried (ports are distinct, core/config).
        const port = (err as { port?: number }).port;
        const listeners: [string, string, number | undefined][] = [
          ['MQTT over WebSocket', 'ANJU_WS_PORT', config.mqtt.wsPort],
          ['MQTT over TLS', 'ANJU_MQTTS_PORT', config.tls?.mqttsPort],
          ['MQTT over secure WebSocket', 'ANJU_WSS_PORT', config.tls?.wssPort],
        ];
        const [what, variable, listenerPort] = listeners.find(([, , p]) => p !== undefined && p !== 0 && p === port) ?? ['MQTT', 'ANJU_MQTT_PORT', config.mqtt.port];
        throw listenError(err, what, variable, config.mqtt.host, listenerPort ?? config.mqtt.port);
      }
    };

    if (role === 'broker') {
      await openBroker();
      return { role, urls: broker ? brokerUrls(config.mqtt.host, broker) : {}, warnings, stop };
    }

    // hub: ingest, alerts, api
    const telemetry = selectTelemetryStore(config, db.telemetry, { logger, metrics, siteTimezone: db.siteTimezone });
    if (telemetry !== db.telemetry) stops.push(() => telemetry.close());
    const path = await openTelemetryPath({ dataDir, quotaBytes: config.spool.quotaBytes, fsync: config.spool.fsync }, { store: telemetry, logger, metrics });
    stops.push(() => path.close());
    const latest = createLatestCache({ store: telemetry });
    // A store that is down at start-up must not keep ingest down: the cache fills as readings arrive.
    await latest.prime().catch((err: Error) => {
      logger.warn({ err: err.message }, 'could not prime latest values from the store; they fill as devices report');
      if (config.store === 'influxdb') {
        warnings.push(
          `InfluxDB at ${config.influx.url} did not answer: ${err.message}.\n` +
          'Readings wait in the spool and are written once it answers. Check ANJU_INFLUX_URL (and _TOKEN/_ORG/_BUCKET,\n' +
          'or _DB/_USER/_PASSWORD for 1.x); /health shows the store status.',
        );
      }
    });
    const alerts = await startAlerts(config, { store: db.alarms, incidents: db.incidents, directory, state: db.state, broker, metrics, logger });
    stops.push(() => alerts.stop());
    // ANJU_STORE=influxdb: alarm events and fleet status for Grafana; stopped before the engine closes.
    const stopOpsExport = startOpsExport(config, { engine: alerts.engine, alarms: db.alarms, directory, latest, metrics, logger });
    if (stopOpsExport) stops.push(stopOpsExport);
    // Monthly reports wait for the demo's history: a month computed from half of it would be stored.
    const reports = await startReports(config, { telemetry, alarms: db.alarms, db, directory, logger, after: historyReady });
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
      source = createMqttClientSource(
        {
          url: config.ingest.brokerUrl as string, username: config.ingest.username, password: config.ingest.password, clientId: config.ingest.clientId,
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
    // The demo fleet starts after the API: scenarios played before it runs are refused.
    let fleet: Fleet | undefined;
    const demoApi = broker && fleetCredentials.length > 0 ? {
      play(spec: string) {
        if (!fleet) throw new Error('the demo fleet is still starting; try again in a few seconds');
        // A demo's fire or burst pipe is over after 10 minutes (then it decays), so the alarm can be cleared.
        const scenario = parseScenario(spec, Date.now(), { durationMs: 10 * 60_000 });
        return { name: scenario.name, startsAt: scenario.startAt, devices: fleet.play(scenario) };
      },
    } : undefined;
    const app = await createApp(
      { http: { bodyLimit: 64 * 1024 }, ...(deps.version ? { version: deps.version } : {}) },
      {
        logger: logger.child({ part: 'api' }), state: db.state, directory, telemetry, latest, rejects, metrics, alerts: { engine: alerts.engine, incidents: alerts.incidents }, reports: reports.api,
        ...(broker ? { serviceAccounts } : {}), ...(demoApi ? { demo: demoApi } : {}),
        // `anju backup`: the database snapshot and the spool, staged under the data dir.
        backups: createBackupStaging({ dir: join(dataDir, 'backups') }, { source: backupSource }),
        health: buildHealth({ spool: path.spool, forwarder: path.forwarder, pipeline, broker, latest }),
      },
    );
    stops.push(() => app.close());
    let http: string | undefined;
    if (config.plaintext) {
      await app.listen({ host: config.http.host, port: config.http.port }).catch((err: unknown) => {
        throw listenError(err, 'HTTP (API and control room)', 'ANJU_HTTP_PORT', config.http.host, config.http.port);
      });
      http = `http://${displayHost(config.http.host)}:${(app.server.address() as { port: number }).port}`;
    } else {
      await app.ready();
    }
    let https: string | undefined;
    if (config.tls && tls) {
      // Closed before the app (stops run in reverse), so no request arrives at a closed app.
      const httpsPort = config.tls.httpsPort;
      const listener = await listenHttps(config.http.host, httpsPort, tls, (req, res) => app.routing(req, res)).catch((err: unknown) => {
        throw listenError(err, 'HTTPS (API and control room)', 'ANJU_HTTPS_PORT', config.http.host, httpsPort);
      });
      stops.push(() => listener.close());
      https = `https://${displayHost(config.http.host)}:${listener.port}`;
    }
    const web = http ?? https;

    await source.start((m) => pipeline.handle(m));
    inputs.push(() => source.stop());
    // Everything a publish needs is attached: only now may devices connect.
    await openBroker();

    const backfill = demoHistory && historyReady
      ? startDemoBackfill(demoHistory, { dataDir, store: telemetry, devices: fleetCredentials.map((c) => c.device), logger: logger.child({ part: 'demo-history' }) })
      : undefined;
    if (backfill) {
      void backfill.done.then((complete) => { if (complete) demoHistoryWritten(); });
      // Stopped before the store closes (parts stop in reverse order).
      stops.push(() => backfill.stop());
    }
    if (broker && fleetCredentials.length > 0) {
      fleet = createFleet(
        {
          // TLS only: the demo devices reach this process over loopback, where the certificate's
          // host name cannot match; they skip the check (real devices must not).
          ...(broker.tcpPort ? { brokerUrl: `mqtt://127.0.0.1:${broker.tcpPort}` } : { brokerUrl: `mqtts://127.0.0.1:${broker.tlsPort}`, rejectUnauthorized: false }),
          qos: 1, intervalMs: 10_000, seed: DEMO_SEED, reconnectMinMs: 1_000, reconnectMaxMs: 30_000,
          // Registers continue the demo's history: same seed, same origin, same retrofits.
          ...fleetHistory(demoHistory),
          // The backfill's recent pass hands its profiles over: one catch-up of the history, not two at once.
          ...(backfill ? { continueFrom: backfill.recent } : {}) },
        { devices: fleetCredentials, logger: logger.child({ part: 'sim' }) },
      );
      // Not awaited: bringing the demo's registers up to now (fleet.ts catchUp) must not hold up start-up.
      const running = fleet;
      running.start().catch((err: unknown) => logger.error({ err }, 'the demo fleet could not start'));
      inputs.unshift(() => running.stop());
    }

    const urls = {
      http, https, docs: `${web}/docs`,
      ...(broker ? brokerUrls(config.mqtt.host, broker) : {}),
    };
    return { role, urls, generatedAdminToken: generated, warnings, stop };
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
