import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { FastifyInstance, InjectOptions, LightMyRequestResponse } from 'fastify';
import { pino } from 'pino';
import { Registry } from 'prom-client';
import { createIncidents, defaultIncidentsConfig, type Incidents } from '../../alerts/incidents/manager.js';
import { createAlertEngine, defaultAlertEngineConfig, type AlertEngine } from '../../alerts/index.js';
import { createApp, type ApiConfig, type ApiDeps, type HealthReport } from '../../api/app.js';
import { ensureAdminToken } from '../../api/bootstrap.js';
import type { Device, FieldValue } from '../../core/index.js';
import { generateToken, hashToken } from '../../core/secrets.js';
import { createRejectLog } from '../../ingest/rejects.js';
import { createEmbeddedDatabase, type EmbeddedDatabase } from '../../storage/embedded/index.js';
import { createLatestCache } from '../../storage/latest-cache.js';
import { createDeviceDirectory } from '../../storage/state/directory.js';
import type { Role } from '../../storage/state/contract.js';

/**
 * The API over the real embedded DuckDB stores in a temp dir, with an admin token from
 * ensureAdminToken and one token per other role.
 */
export interface Harness {
  app: FastifyInstance;
  deps: ApiDeps;
  db: EmbeddedDatabase;
  tokens: Record<Role, string>;
  /** `app.inject` with `Authorization: Bearer <token of role>` (or none for `null`). */
  call(role: Role | null, opts: InjectOptions): Promise<LightMyRequestResponse>;
  health: { report: HealthReport };
  close(): Promise<void>;
}

/** Deps that need the open database (a started alert engine); `close` runs after the app closes, before the database. */
export type HarnessExtension = (db: EmbeddedDatabase, deps: ApiDeps) => Promise<{ deps: ApiDeps; close?: () => Promise<void> }>;

export async function startHarness(
  config: ApiConfig = {},
  override: (deps: ApiDeps) => ApiDeps = (d) => d,
  extend?: HarnessExtension,
): Promise<Harness> {
  const dir = await mkdtemp(join(tmpdir(), 'anju-api-'));
  const logger = pino({ level: 'silent' });
  const db = await createEmbeddedDatabase({ dataDir: dir, memoryLimit: '256MB', threads: 1 }, { logger });
  const metrics = new Registry();
  const directory = createDeviceDirectory({ state: db.state });
  await directory.load();
  const latest = createLatestCache({ store: db.telemetry });
  const health = { report: { status: 'ok', checks: { store: { status: 'ok' } } } as HealthReport };
  const baseDeps = override({
    logger,
    state: db.state,
    directory,
    telemetry: db.telemetry,
    latest,
    rejects: createRejectLog({ capacity: 100 }, { metrics }),
    metrics,
    health: async () => health.report,
  });
  const extended = extend ? await extend(db, baseDeps) : undefined;
  const deps = extended?.deps ?? baseDeps;

  const admin = generateToken();
  await ensureAdminToken(admin, { state: db.state });
  const tokens = { admin } as Record<Role, string>;
  for (const role of ['operator', 'maintenance', 'viewer'] as const) {
    tokens[role] = generateToken();
    await db.state.createToken({ id: `t-${role}`, name: `test ${role}`, role, createdAt: Date.now() }, hashToken(tokens[role]));
  }

  const app = await createApp(config, deps);
  await app.ready();
  return {
    app,
    deps,
    db,
    tokens,
    health,
    call(role, opts) {
      const headers = { ...(opts.headers ?? {}), ...(role ? { authorization: `Bearer ${tokens[role]}` } : {}) };
      return app.inject({ ...opts, headers });
    },
    async close() {
      await app.close();
      await extended?.close?.();
      await db.close();
      await rm(dir, { recursive: true, force: true });
    },
  };
}

// ---------------------------------------------------------------- alerts

/** 2025-03-03 08:00 at +08:00. */
export const T0 = Date.UTC(2025, 2, 3, 0, 0, 0);

/** The harness with a started alert engine and its incidents (their clock is `now`) as the `alerts` dep. */
export async function startAlertsHarness(
  now: { ms: number },
  config: ApiConfig = {},
  override: (deps: ApiDeps) => ApiDeps = (d) => d,
  withDb: (db: EmbeddedDatabase, deps: ApiDeps) => ApiDeps = (_db, d) => d,
): Promise<{ h: Harness; engine: AlertEngine; incidents: Incidents }> {
  let engine: AlertEngine | undefined;
  let incidents: Incidents | undefined;
  const h = await startHarness(config, override, async (db, deps) => {
    const e = createAlertEngine(defaultAlertEngineConfig, { store: db.alarms, devices: deps.directory, logger: deps.logger, metrics: deps.metrics,
      clock: () => now.ms });
    await e.start();
    const i = createIncidents(defaultIncidentsConfig, { engine: e, store: db.incidents, logger: deps.logger, metrics: deps.metrics, clock: () => now.ms });
    await i.start();
    engine = e;
    incidents = i;
    return { deps: withDb(db, { ...deps, alerts: { engine: e, incidents: i } }), close: async () => { await e.close(); await i.close(); } };
  });
  return { h, engine: engine as AlertEngine, incidents: incidents as Incidents };
}

export function feed(engine: AlertEngine, device: Device, ts: number, fields: Record<string, FieldValue>): Promise<void> {
  return engine.accept([{ device: device.id, kind: device.kind, site: device.site, building: device.building,
    ...(device.category ? { category: device.category } : {}), ts, fields }]);
}
