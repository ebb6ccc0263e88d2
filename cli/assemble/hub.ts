import { join, resolve } from 'node:path';
import type { FastifyInstance } from 'fastify';
import type { Logger } from 'pino';
import { Gauge, type Registry } from 'prom-client';
import { createApp, type ApiDeps } from '../../api/app.js';
import { ensureAdminToken } from '../../api/bootstrap.js';
import type { AnjuBroker } from '../../broker/index.js';
import type { AnjuConfig } from '../../core/config.js';
import type { Pipeline, RejectLog } from '../../ingest/index.js';
import {
  createBackupStaging, createLatestCache, type AlarmStore, type DeviceDirectory, type EmbeddedDatabase, type LatestCache,
  type DiskProbe, type ServiceAccountDirectory, type TelemetryStore,
} from '../../storage/index.js';
import { createCommandService } from '../../commands/index.js';
import { createResponder, createResponsePolicies } from '../../alerts/responses/index.js';
import { createDeviceHolders } from '../../storage/postgres/holders.js';
import { createPostgresLeader } from '../../storage/postgres/leader.js';
import { startAlerts, type RunningAlerts } from '../alerts.js';
import { startBackupSchedule } from '../backup-schedule.js';
import { buildHealth } from '../health.js';
import { startOpsExport } from '../ops-export.js';
import { startReports } from '../reports.js';
import { listenError } from '../startup-errors.js';
import { openTelemetryPath, selectTelemetryStore, type TelemetryPath } from '../telemetry-path.js';
import { listenHttps, type TlsMaterial } from '../tls.js';
import { displayHost } from './broker.js';
import { assembleIngest } from './ingest.js';
import { createShutdown } from './shutdown.js';
import { startStorageOps } from './storage-ops.js';

export interface AssembleHubDeps {
  /** The embedded database: state, alarms, incidents, reports, and telemetry when ANJU_STORE=embedded. */
  db: EmbeddedDatabase;
  directory: DeviceDirectory;
  /** With the embedded broker: service accounts are managed through the API. */
  serviceAccounts?: ServiceAccountDirectory;
  /** The embedded broker (`anju all`), not yet open; without it ingest subscribes to ANJU_MQTT_URL. */
  broker?: AnjuBroker;
  /** Instead of the store ANJU_STORE names (benchmarks time its writes). */
  telemetry?: TelemetryStore;
  /** Instead of `db.alarms` (benchmarks time its commits). */
  alarms?: AlarmStore;
  tls?: TlsMaterial;
  /** `/api/demo`, when a demo fleet runs. */
  demo?: ApiDeps['demo'];
  /** Monthly reports wait for this (the demo's history being written). */
  reportsAfter?: Promise<void>;
  version?: string;
  /** The alerts' time (engine, incidents, escalation), epoch ms; `Date.now` unless a test or benchmark sets it. */
  clock?: () => number;
  logger: Logger;
  metrics: Registry;
  /** Instead of fs.statfs on the data dir (tests simulate a full disk), and its period. */
  diskProbe?: DiskProbe;
  diskIntervalMs?: number;
  /** Cluster mode: the state database's check for /health. */
  stateHealth?: { ping(): Promise<{ ok: true; ms: number } | { ok: false; error: string }> };
  /** Cluster mode: the broker backplane's (Redis) check for /health. */
  backplaneHealth?: { ping(): Promise<{ ok: true; ms: number } | { ok: false; error: string }> };
}

export interface AssembledHub {
  readonly telemetry: TelemetryStore;
  readonly path: TelemetryPath;
  readonly latest: LatestCache;
  readonly alerts: RunningAlerts;
  readonly pipeline: Pipeline;
  readonly rejects: RejectLog;
  readonly app: FastifyInstance;
  readonly urls: { http?: string; https?: string; docs: string };
  /** A bootstrap admin token generated on this start (printed once, never logged). */
  readonly generatedAdminToken?: string;
  /** What the operator must know although the hub runs (an unreachable store); shown in the banner. */
  readonly warnings: readonly string[];
  /** Stops the ingest source first, then the parts in reverse start order. */
  stop(): Promise<void>;
}

/**
 * The hub (ingest, alerts, reports, API), built in the order the data flows: store ▶ spool and
 * forwarder ▶ latest cache ▶ alerts ▶ reports ▶ pipeline ▶ API (listening) ▶ ingest source
 * attached. It resolves once everything a publish needs is attached, so the caller opens the
 * embedded broker after it: before that the broker answers CONNACK 3, never acknowledging a
 * publish it has nowhere to put. On a failure it stops what it started and rethrows.
 */
export async function assembleHub(config: AnjuConfig, deps: AssembleHubDeps): Promise<AssembledHub> {
  const { db, directory, broker, logger, metrics, tls } = deps;
  const shutdown = createShutdown(logger);
  try {
    const dataDir = resolve(config.dataDir);
    const warnings: string[] = [];
    // Retention and the disk guard before the first write: on a full disk nothing is written.
    const storageOps = await startStorageOps(config, dataDir, {
      db, metrics, logger, ...(deps.diskProbe ? { diskProbe: deps.diskProbe } : {}), ...(deps.diskIntervalMs ? { diskIntervalMs: deps.diskIntervalMs } : {}),
    });
    shutdown.part(() => storageOps.stop());
    const telemetry = deps.telemetry ?? selectTelemetryStore(config, db.telemetry, { logger, metrics, siteTimezone: db.siteTimezone });
    if (!deps.telemetry && telemetry !== db.telemetry) shutdown.part(() => telemetry.close());
    const { quotaBytes, fsync, writeIntervalMs, writeBatch } = config.spool;
    const latest = createLatestCache({ store: telemetry });
    // The readings a previous run acknowledged but had not stored replay from the spool: the cache
    // learns them as the forwarder takes them, since the store query below cannot see those stored after it.
    const path = await openTelemetryPath({ dataDir, quotaBytes, fsync, writeIntervalMs, writeBatch }, {
      store: telemetry, logger, metrics, onBacklog: (r) => latest.accept(r),
    });
    shutdown.part(() => path.close());
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
    // Cluster (state in PostgreSQL): the once-only schedules — escalation and reminders, the duty
    // router's checks, the monthly reports — run on the node holding the lead.
    const leader = config.postgres ? createPostgresLeader({ url: config.postgres.url, name: 'scheduler' }, { logger, metrics }) : undefined;
    if (leader) {
      await leader.start();
      shutdown.part(() => leader.stop());
    }
    // Cluster with a shared broker tier: which node holds which device, so that the devices no live
    // node holds are timed by the leader (storage/postgres/holders.ts). Stopped after the alerts.
    // A node counts as dead after 3 missed beats, as its broker does (ANJU_CLUSTER_HEARTBEAT_S).
    const holders = config.postgres && config.redis && broker
      ? createDeviceHolders({ url: config.postgres.url, beatMs: config.redis.heartbeatMs, nodeId: broker.id }, { logger })
      : undefined;
    if (holders) {
      await holders.start();
      shutdown.part(() => holders.stop());
    }
    const alarms = deps.alarms ?? db.alarms;
    // Response policies before the incidents: an alarm replayed at start-up proposes as a live one does.
    const clock = deps.clock ?? Date.now;
    const policies = createResponsePolicies({ store: db.responses, devices: directory, clock, logger });
    await policies.load();
    const alerts = await startAlerts(config, {
      store: alarms, incidents: db.incidents, directory, state: db.state, broker, metrics, logger, policies, ...(deps.clock ? { clock: deps.clock } : {}),
      rosters: db.rosters, accounts: db.accounts, ...(leader ? { leader } : {}), ...(holders ? { holders } : {}),
    });
    shutdown.part(() => alerts.stop());
    // ANJU_STORE=influxdb: alarm events and fleet status for Grafana; stopped before the engine closes.
    const stopOpsExport = startOpsExport(config, { engine: alerts.engine, alarms, directory, latest, metrics, logger });
    if (stopOpsExport) shutdown.part(stopOpsExport);
    // Monthly reports wait for the demo's history: a month computed from half of it would be stored.
    const reports = await startReports(config, { telemetry, alarms, db, directory, logger, after: deps.reportsAfter, ...(leader ? { leader } : {}) });
    shutdown.part(() => reports.stop());

    const backupSource = { dataDir, snapshot: (file: string) => db.snapshot(file) };
    if (config.backupSchedule) {
      const schedule = startBackupSchedule(config.backupSchedule, { source: backupSource, logger, metrics });
      shutdown.part(() => schedule.stop());
    }

    const ingest = assembleIngest(config, { devices: directory, spool: path.spool, consumers: [latest, alerts.engine], broker, logger, metrics });
    const devicesGauge = new Gauge({ name: 'anju_broker_connected_devices', help: 'Devices connected to the embedded broker.', registers: [metrics], collect() { this.set(broker?.connectedDevices() ?? 0); } });
    void devicesGauge;

    // Commands ride the embedded broker: its publish, the devices' PUBACKs and their replies, which
    // it refuses (the device resends) until this dispatcher is attached.
    const commands = broker
      ? createCommandService({ sweepIntervalMs: 5_000, replyGraceMs: 60_000, sessionsSurviveRestart: config.redis !== undefined }, {
        store: db.commands, devices: directory, broker, logger, metrics,
      })
      : undefined;
    if (commands) shutdown.part(() => commands.stop());
    // Proposals are carried out through the dispatcher: confirmed by a person, or by themselves when a site allows it.
    const responder = commands
      ? createResponder({ tickMs: 15_000 }, { incidents: alerts.incidents, commands, policies, devices: directory, clock, logger, metrics })
      : undefined;
    if (responder) {
      await responder.start();
      shutdown.part(async () => responder.stop());
    }

    // The API before the broker opens: building it is a few hundred ms of CPU-bound work that, once
    // the broker listens, would hold up the devices' first CONNECTs after a restart.
    const { generated } = await ensureAdminToken(config.adminToken, { state: db.state });
    const app = await createApp(
      { http: { bodyLimit: 64 * 1024 }, ...(deps.version ? { version: deps.version } : {}) },
      {
        logger: logger.child({ part: 'api' }), state: db.state, directory, telemetry, latest, rejects: ingest.rejects, metrics,
        alerts: {
          engine: alerts.engine, incidents: alerts.incidents, ...(alerts.feeds ? { feeds: alerts.feeds } : {}),
          ...(alerts.activeAlarms ? { activeAlarms: alerts.activeAlarms } : {}),
        },
        reports: reports.api, accounts: db.accounts, audit: db.audit, rosters: db.rosters,
        ...(broker && deps.serviceAccounts ? { serviceAccounts: deps.serviceAccounts } : {}), ...(deps.demo ? { demo: deps.demo } : {}),
        ...(commands ? { commands: { service: commands, minRole: config.commands.minRole } } : {}),
        responses: { policies, ...(responder ? { responder } : {}), minRole: config.commands.minRole },
        // `anju backup`: the database snapshot and the spool, staged under the data dir.
        backups: createBackupStaging({ dir: join(dataDir, 'backups') }, { source: backupSource }),
        health: buildHealth({
          spool: path.spool, forwarder: path.forwarder, pipeline: ingest.pipeline, broker, latest, disk: storageOps.disk, incidents: alerts.incidents,
          ...(deps.stateHealth ? { state: deps.stateHealth } : {}), ...(deps.backplaneHealth ? { backplane: deps.backplaneHealth } : {}),
          ...(leader ? { leader } : {}) }),
      },
    );
    shutdown.part(() => app.close());
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
      // Closed before the app (parts stop in reverse), so no request arrives at a closed app.
      const httpsPort = config.tls.httpsPort;
      const listener = await listenHttps(config.http.host, httpsPort, tls, (req, res) => app.routing(req, res)).catch((err: unknown) => {
        throw listenError(err, 'HTTPS (API and control room)', 'ANJU_HTTPS_PORT', config.http.host, httpsPort);
      });
      shutdown.part(() => listener.close());
      https = `https://${displayHost(config.http.host)}:${listener.port}`;
    }

    await ingest.start();
    shutdown.input(() => ingest.stop());
    return {
      telemetry, path, latest, alerts, pipeline: ingest.pipeline, rejects: ingest.rejects, app,
      urls: { http, https, docs: `${http ?? https}/docs` },
      generatedAdminToken: generated, warnings, stop: () => shutdown.run(),
    };
  } catch (err) {
    await shutdown.run();
    throw err;
  }
}
