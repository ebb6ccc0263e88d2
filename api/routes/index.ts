import type { FastifyInstance } from 'fastify';
import type { RouteOptions } from '../types.js';
import { accountRoutes } from './api/accounts/index.js';
import { auditRoutes } from './api/audit/index.js';
import { createAuditHooks } from '../plugins/app/audit.js';
import { alertExportRoutes } from './api/alerts/export.js';
import { alertRoutes } from './api/alerts/index.js';
import { alertStreamRoutes } from './api/alerts/stream.js';
import { backupRoutes } from './api/backups/index.js';
import { deviceRoutes } from './api/devices/index.js';
import { telemetryRoutes } from './api/devices/telemetry.js';
import { incidentRoutes } from './api/incidents/index.js';
import { proposalRoutes } from './api/incidents/proposals.js';
import { responseRoutes } from './api/responses/index.js';
import { rejectRoutes } from './api/ingest/rejects/index.js';
import { reportRoutes } from './api/reports/index.js';
import { ruleRoutes } from './api/rules/index.js';
import { siteRuleRoutes } from './api/rules/sites.js';
import { serviceAccountRoutes } from './api/service-accounts/index.js';
import { sessionRoutes } from './api/session/index.js';
import { siteRoutes } from './api/sites/index.js';
import { siteViewRoutes } from './api/sites/overview.js';
import { sitePeopleRoutes } from './api/sites/people.js';
import { rosterRoutes } from './api/sites/roster.js';
import { tokenRoutes } from './api/tokens/index.js';
import { demoRoutes } from './api/demo/index.js';
import { commandRoutes, commandStreamRoutes } from './api/commands/index.js';
import { healthRoutes } from './health/index.js';
import { metricsRoutes } from './metrics/index.js';
import { webRoutes } from './web/index.js';

/**
 * Every route, under the URL its folder names. Explicit rather than autoloaded: the list of what
 * the API exposes is readable in one place, and each plugin gets exactly the deps it uses.
 */
export async function routes(app: FastifyInstance, opts: RouteOptions): Promise<void> {
  const { deps } = opts;
  // The audit trail of every change below (api/plugins/app/audit.ts): one hook, so no route is missed.
  if (deps.audit) {
    const audit = createAuditHooks({ store: deps.audit, metrics: deps.metrics, ...(deps.now ? { now: deps.now } : {}) });
    app.addHook('onSend', audit.onSend);
    app.addHook('onResponse', audit.onResponse);
  }
  await app.register(webRoutes, { root: opts.config.webRoot });
  await app.register(healthRoutes, { prefix: '/health', health: deps.health });
  await app.register(metricsRoutes, { prefix: '/metrics', metrics: deps.metrics });
  await app.register(deviceRoutes, { prefix: '/api/devices', ...opts });
  await app.register(telemetryRoutes, { prefix: '/api/devices', ...opts });
  await app.register(siteRoutes, { prefix: '/api/sites', ...opts });
  await app.register(siteViewRoutes, { prefix: '/api/sites', ...opts });
  await app.register(rejectRoutes, { prefix: '/api/ingest/rejects', ...opts });
  await app.register(tokenRoutes, { prefix: '/api/tokens', ...opts });
  await app.register(sessionRoutes, { prefix: '/api/session', ...opts });
  // Alerts only where the composition root runs the engine (not on the broker role).
  if (deps.alerts) {
    const alertOpts = { ...opts, alerts: deps.alerts };
    await app.register(alertRoutes, { prefix: '/api/alerts', ...alertOpts });
    await app.register(alertStreamRoutes, { prefix: '/api/alerts', ...alertOpts });
    await app.register(alertExportRoutes, { prefix: '/api', ...alertOpts });
    await app.register(ruleRoutes, { prefix: '/api/rules', ...alertOpts });
    await app.register(siteRuleRoutes, { prefix: '/api/rules/sites', ...alertOpts });
    await app.register(incidentRoutes, { prefix: '/api/incidents', ...alertOpts });
    if (deps.responses) {
      await app.register(proposalRoutes, { prefix: '/api/incidents', ...alertOpts, responses: deps.responses });
      await app.register(responseRoutes, { prefix: '/api/responses', ...opts, responses: deps.responses });
    }
  }
  // MQTT service accounts only where the composition root runs the embedded broker they log in to.
  if (deps.serviceAccounts) await app.register(serviceAccountRoutes, { prefix: '/api/service-accounts', ...opts, serviceAccounts: deps.serviceAccounts });
  if (deps.audit) await app.register(auditRoutes, { prefix: '/api/audit', ...opts, audit: deps.audit });
  if (deps.accounts) {
    await app.register(accountRoutes, { prefix: '/api/accounts', ...opts, accounts: deps.accounts });
    await app.register(sitePeopleRoutes, { prefix: '/api/sites', ...opts, accounts: deps.accounts });
  }
  // Rosters name people: served where there are both.
  if (deps.rosters && deps.accounts) await app.register(rosterRoutes, { prefix: '/api/sites', ...opts, rosters: deps.rosters, accounts: deps.accounts });
  // Backups only where the node holds a data dir worth backing up (the embedded database).
  if (deps.backups) await app.register(backupRoutes, { prefix: '/api/backups', ...opts, backups: deps.backups });
  // Commands only where the composition root runs the embedded broker that carries them.
  if (deps.commands) {
    await app.register(commandRoutes, { prefix: '/api', ...opts, commands: deps.commands });
    await app.register(commandStreamRoutes, { prefix: '/api/commands', ...opts, commands: deps.commands });
  }
  // The demo fleet's scenarios only where it runs.
  if (deps.demo) await app.register(demoRoutes, { prefix: '/api/demo', ...opts, demo: deps.demo });
  // Reports only where the composition root provides them.
  if (deps.reports) await app.register(reportRoutes, { prefix: '/api/reports', ...opts, reports: deps.reports });
}
