import { resolve } from 'node:path';
import type { Logger } from 'pino';
import { collectDefaultMetrics, Registry } from 'prom-client';
import type { AnjuConfig, PlatformRole } from '../core/config.js';
import { createFleet, parseScenario, type Fleet } from '../devices-sim/index.js';
import { createDeviceDirectory, createEmbeddedDatabase, createServiceAccountDirectory } from '../storage/index.js';
import { createRedisBackplane, type BrokerBackplane } from '../broker/index.js';
import { assembleBroker, assembleHub, createShutdown, type AssembledBroker } from './assemble/index.js';
import { openStateStores } from './assemble/state-stores.js';
import { seedDemoCommunity } from './demo.js';
import { fleetHistory, planDemoHistory, startDemoBackfill } from './demo-history.js';
import { loadTlsMaterial } from './tls.js';
import { prepareDataDir } from './startup-errors.js';

export type Role = PlatformRole;

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
 * The composition root of `anju <role>`: the shared stores (embedded database, the state stores in
 * PostgreSQL when ANJU_POSTGRES_URL is set, device and service-account directories), the demo community, then `assembleBroker` and `assembleHub`
 * (cli/assemble/), and the broker's listeners last, once the hub has attached everything a publish
 * needs (ingest, spool, store, latest cache, alerts). It stops in the opposite order so nothing in
 * flight is lost: first what brings messages in (the demo fleet, then the broker — which refuses new
 * publishes and answers those in flight), then the parts in reverse: the demo's backfill, the hub
 * (its ingest source first, then its parts in reverse — the writer's flush before the store), the
 * database. Role requirements were checked by `loadConfig(env, role)`.
 */
export async function startPlatform(config: AnjuConfig, role: Role, deps: { logger: Logger; version?: string }): Promise<RunningPlatform> {
  const { logger } = deps;
  const shutdown = createShutdown(logger);
  const stop = () => shutdown.run();

  try {
    const dataDir = resolve(config.dataDir);
    await prepareDataDir(dataDir);
    const metrics = new Registry();
    collectDefaultMetrics({ register: metrics, prefix: 'anju_process_' });
    // Read first: a certificate that cannot be used stops start-up before anything listens.
    const tls = config.tls ? await loadTlsMaterial(config.tls, { logger, metrics }) : undefined;
    if (tls) shutdown.part(async () => tls.stop());

    const embedded = await createEmbeddedDatabase(
      { dataDir, memoryLimit: config.duckdb.memoryLimit, threads: config.duckdb.threads,
        checkpointThreshold: config.duckdb.checkpointThreshold, retention: { rawDays: config.retention.rawDays } }, { logger });
    shutdown.part(() => embedded.close());
    // ANJU_POSTGRES_URL: the state stores in PostgreSQL (cli/assemble/state-stores.ts); closed before the embedded database.
    const stores = await openStateStores(config, embedded, { logger });
    shutdown.part(() => stores.close());
    const db = stores.db;
    // A device and a service account never share an id: the MQTT username names one principal.
    const directory = createDeviceDirectory({ state: db.state, isTaken: (id) => serviceAccounts.get(id) !== undefined });
    const serviceAccounts = createServiceAccountDirectory({ store: db.serviceAccounts, isTaken: (id) => directory.get(id) !== undefined });
    await directory.load();
    await serviceAccounts.load();
    // Cluster mode: devices and service accounts another node provisions, changes or removes reach this node's directories at once.
    await stores.watch({ devices: directory, serviceAccounts });

    const runSim = config.sim ?? role === 'all';
    const demo = runSim && role !== 'hub' ? await seedDemoCommunity({ state: db.state, directory, logger }) : undefined;
    const fleetCredentials = demo?.credentials ?? [];
    // The demo's recent history (demo-history.ts): planned on the start that registers it.
    const demoHistory = demo ? await planDemoHistory(dataDir, { created: demo.createdNow, days: config.demoHistoryDays, seed: DEMO_SEED,
      now: Date.now() }) : undefined;
    let demoHistoryWritten: () => void = () => undefined;
    const historyReady = demoHistory && !demoHistory.completedAt ? new Promise<void>((r) => { demoHistoryWritten = r; }) : undefined;

    let broker: AssembledBroker | undefined;
    let backplane: BrokerBackplane | undefined;
    if (role === 'all' || role === 'broker') {
      // ANJU_REDIS_URL: the broker's sessions and publish/subscribe shared with the other nodes (broker/backplane.ts).
      // A part registered before the broker's input: it closes after the broker has.
      if (config.redis) {
        const opened = await createRedisBackplane({ url: config.redis.url }, { logger });
        backplane = opened;
        shutdown.part(() => opened.close());
      }
      // `all` ingests in this process; the `broker` role's ingest is a hub's persistent session.
      broker = await assembleBroker(config, { directory, serviceAccounts, tls, ingest: role === 'broker' ? 'subscribers' : 'in-process', logger, metrics,
        ...(backplane ? { backplane } : {}) });
      shutdown.input(broker.close);
    }

    if (role === 'broker') {
      await broker?.open();
      return { role, urls: broker?.urls() ?? {}, warnings: stores.warnings, stop };
    }

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
    // hub: ingest, alerts, reports, API; its source is attached when it resolves.
    const hub = await assembleHub(config, {
      db, directory, broker, tls, logger, metrics, reportsAfter: historyReady, ...(stores.health ? { stateHealth: stores.health } : {}),
      ...(backplane ? { backplaneHealth: backplane } : {}),
      ...(broker ? { serviceAccounts } : {}), ...(demoApi ? { demo: demoApi } : {}), ...(deps.version ? { version: deps.version } : {}),
    });
    // A part, not an input: what writes into its store (the demo's backfill) stops before it.
    shutdown.part(() => hub.stop(), { composite: true });
    // Everything a publish needs is attached: only now may devices connect.
    await broker?.open();

    const backfill = demoHistory && historyReady
      ? startDemoBackfill(demoHistory, { dataDir, store: hub.telemetry, devices: fleetCredentials.map((c) => c.device), logger: logger.child({ part: 'demo-history' }) })
      : undefined;
    if (backfill) {
      void backfill.done.then((complete) => { if (complete) demoHistoryWritten(); });
      // Stopped before the hub, whose store it writes to (parts stop in reverse order).
      shutdown.part(() => backfill.stop());
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
      shutdown.input(() => running.stop(), { first: true });
    }

    const urls = { ...hub.urls, ...(broker ? broker.urls() : {}) };
    return { role, urls, generatedAdminToken: hub.generatedAdminToken, warnings: [...stores.warnings, ...hub.warnings], stop };
  } catch (err) {
    await stop();
    throw err;
  }
}
