import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { FastifyInstance, InjectOptions, LightMyRequestResponse } from 'fastify';
import { createIncidents, defaultIncidentsConfig, type Incidents } from '../../alerts/incidents/manager.js';
import { createAlertEngine, defaultAlertEngineConfig, type AlertEngine } from '../../alerts/index.js';
import { createResponder, createResponsePolicies } from '../../alerts/responses/index.js';
import { createCommandService, type CommandService } from '../../commands/index.js';
import type { Device, RoleGrant } from '../../core/index.js';
import { hashPassword } from '../../core/secrets.js';
import { createReports } from '../../reports/index.js';
import { createBackupStaging, createServiceAccountDirectory } from '../../storage/index.js';
import { startBroker } from '../broker/harness.js';
import { wasteReport } from '../reports/render-fixtures.js';
import { feed, startHarness, T0, type Harness } from './harness.js';

/**
 * Two communities on the real API harness (real DuckDB, a started alert engine and incidents, a real
 * Aedes broker under the command service, accounts, audit, reports, backups): 春都 (`chundu`, site A)
 * and 星河 (`xinghe`, site B), each with a smoke detector whose fire became an alarm and an incident,
 * a stored report, a command and site rules; people with grants scoped to sites, logged in with a
 * name and password (cookie + CSRF token) as the control room does.
 */

export const A = 'chundu';
export const B = 'xinghe';
export const PASSWORD = 'correct horse battery';

export const people: Record<string, RoleGrant[]> = {
  tech: [{ role: 'maintenance', sites: [A] }],
  mixed: [{ role: 'maintenance', sites: [A] }, { role: 'viewer', sites: [B] }],
  siteadmin: [{ role: 'admin', sites: [A] }],
  boss: [{ role: 'admin', sites: '*' }],
};

export interface Session { cookie: string; csrf: string }

export interface ScopeWorld {
  h: Harness;
  engine: AlertEngine;
  incidents: Incidents;
  commands: CommandService;
  now: { ms: number };
  dev: Record<'a' | 'b', Device>;
  alarm: Record<'a' | 'b', string>;
  incident: Record<'a' | 'b', string>;
  command: Record<'a' | 'b', string>;
  report: Record<'a' | 'b', string>;
  sessions: Record<keyof typeof people, Session>;
  /** `app.inject` as a logged-in person: the session cookie, and the CSRF token on changes. */
  as(who: keyof typeof people, opts: InjectOptions): Promise<LightMyRequestResponse>;
  close(): Promise<void>;
}

/** Every route the app serves, as `METHOD /path` (HEAD left out: Fastify adds it to every GET). */
export function registeredRoutes(app: FastifyInstance): string[] {
  const out = new Set<string>();
  const stack: string[] = [];
  for (const line of app.printRoutes({ commonPrefix: false }).split('\n')) {
    const m = /^([│ ]*)[├└]── (\S+)(?: \(([^)]*)\))?/.exec(line);
    if (!m) continue;
    const depth = (m[1] ?? '').length / 4;
    const seg = m[2] ?? '';
    const parent = depth === 0 ? '' : (stack[depth - 1] ?? '');
    const path = parent === '' ? seg : parent === '/' ? `/${seg}` : `${parent}${seg}`;
    stack[depth] = path;
    stack.length = depth + 1;
    for (const method of (m[3] ?? '').split(',').map((s) => s.trim()).filter((s) => s && s !== 'HEAD')) out.add(`${method} ${path}`);
  }
  return [...out].sort();
}

export async function startScopeWorld(): Promise<ScopeWorld> {
  const now = { ms: T0 };
  let engine: AlertEngine | undefined;
  let incidents: Incidents | undefined;
  let commands: CommandService | undefined;
  const h = await startHarness({}, (d) => ({ ...d, now: () => now.ms }), async (db, deps) => {
    const e = createAlertEngine(defaultAlertEngineConfig, {
      store: db.alarms, devices: deps.directory, logger: deps.logger, metrics: deps.metrics, clock: () => now.ms,
    });
    await e.start();
    const i = createIncidents(defaultIncidentsConfig, { engine: e, store: db.incidents, logger: deps.logger, metrics: deps.metrics, clock: () => now.ms });
    await i.start();
    const b = await startBroker();
    const c = createCommandService({ sweepIntervalMs: 60_000, replyGraceMs: 1_000 }, {
      store: db.commands, devices: deps.directory, broker: b.broker, logger: deps.logger, metrics: deps.metrics,
    });
    const policies = createResponsePolicies({ store: db.responses, devices: deps.directory, clock: () => now.ms, logger: deps.logger });
    await policies.load();
    const responder = createResponder({ tickMs: 3_600_000 }, {
      incidents: i, commands: c, policies, devices: deps.directory, clock: () => now.ms, logger: deps.logger, metrics: deps.metrics,
    });
    await responder.start();
    const serviceAccounts = createServiceAccountDirectory({ store: db.serviceAccounts, isTaken: (id) => deps.directory.get(id) !== undefined });
    await serviceAccounts.load();
    const generate = createReports({ maxRangeDays: 400 }, { store: db.telemetry, alarms: db.alarms, devices: deps.directory,
      sites: { get: () => undefined } });
    const dataDir = mkdtempSync(join(tmpdir(), 'anju-scope-'));
    [engine, incidents, commands] = [e, i, c];
    return {
      deps: {
        ...deps, alerts: { engine: e, incidents: i }, accounts: db.accounts, rosters: db.rosters, audit: db.audit, commands: { service: c, minRole: 'maintenance' },
        responses: { policies, responder, minRole: 'operator' },
        serviceAccounts, reports: { generate, store: db.reports },
        backups: createBackupStaging({ dir: join(dataDir, 'backups') }, { source: { dataDir, snapshot: (f) => db.snapshot(f) } }),
        demo: { play: (spec: string) => ({ name: spec, startsAt: now.ms, devices: 0 }) },
      },
      close: async () => {
        responder.stop();
        c.stop();
        await e.close();
        await i.close();
        await b.close();
        rmSync(dataDir, { recursive: true, force: true });
      },
    };
  });
  const { state, directory } = h.deps;
  const dev = {} as ScopeWorld['dev'];
  for (const [k, site, name] of [['a', A, '春都社区'], ['b', B, '星河湾']] as const) {
    await state.upsertSite({ id: site, name, timezone: 'Asia/Shanghai' });
    await state.upsertBuilding({ id: 'b3', site, name: '3号楼' });
    dev[k] = (await directory.create({ id: `sd-${k}`, kind: 'smoke_detector', site, building: 'b3', name: '3-301 厨房烟感', capabilities: ['hush', 'self_test'] })).device;
    const fields = { smoke: 0.6, temperature: 62, alarm: true };
    await feed(engine!, dev[k], T0, fields);
    const reading = { device: dev[k].id, kind: dev[k].kind, site, building: 'b3', ts: T0, fields };
    await h.deps.telemetry.write([reading]);
    h.deps.latest.accept([reading]);
  }
  await engine!.idle();
  await incidents!.idle();
  const first = async (list: Promise<{ items: readonly { id: string }[] }>) => (await list).items[0]?.id ?? '';
  const alarm = { a: await first(engine!.list({ site: A, limit: 1, offset: 0 })), b: await first(engine!.list({ site: B, limit: 1, offset: 0 })) };
  const incident = { a: await first(incidents!.list({ site: A, limit: 1, offset: 0 })), b: await first(incidents!.list({ site: B, limit: 1, offset: 0 })) };
  const command = {
    a: (await commands!.send(dev.a.id, { name: 'test' }, 'token:test')).id,
    b: (await commands!.send(dev.b.id, { name: 'test' }, 'token:test')).id,
  };
  const report = { a: `waste-${A}`, b: `waste-${B}` };
  for (const [k, site] of [['a', A], ['b', B]] as const) {
    await h.db.reports.save({ id: report[k], kind: 'waste', site, from: T0 - 86_400_000, to: T0, createdAt: T0, origin: 'manual', data: { ...wasteReport, site: { ...wasteReport.site, id: site } } });
  }
  await h.call('admin', { method: 'PUT', url: `/api/rules/sites/${B}`, payload: { smoke: {} } });
  now.ms = T0 + 60_000;

  const at = Date.now();
  for (const [login, grants] of Object.entries(people)) {
    await h.db.accounts.create({ id: login, login, displayName: `${login} 师傅`, grants, disabled: false, createdAt: at, updatedAt: at, passwordSetAt: at,
      passwordHash: await hashPassword(PASSWORD) });
  }
  for (const site of [A, B]) {
    await h.db.rosters.put({ site, timezone: 'Asia/Shanghai', shifts: [{ days: [1, 2, 3, 4, 5, 6, 7], start: '08:00', end: '08:00', hazards: '*', buildings: '*', people: ['boss'] }],
      exceptions: [], managers: ['boss'] }, 'test', at);
  }
  const sessions = {} as ScopeWorld['sessions'];
  for (const login of Object.keys(people)) {
    const res = await h.app.inject({ method: 'POST', url: '/api/session/login', payload: { login, password: PASSWORD } });
    if (res.statusCode !== 200) throw new Error(`log-in of ${login}: ${res.statusCode} ${res.body}`);
    sessions[login] = { cookie: `anju_session=${/anju_session=([^;]*)/.exec(String(res.headers['set-cookie']))?.[1] ?? ''}`, csrf: res.json().csrfToken };
  }
  return {
    h, engine: engine!, incidents: incidents!, commands: commands!, now, dev, alarm, incident, command, report, sessions,
    as(who, opts) {
      const s = sessions[who] as Session;
      return h.app.inject({ ...opts, headers: { ...(opts.headers ?? {}), cookie: s.cookie, 'x-csrf-token': s.csrf } });
    },
    close: () => h.close(),
  };
}
