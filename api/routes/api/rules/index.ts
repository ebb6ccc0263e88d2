import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { rulesConfigSchema } from '../../../../alerts/config.js';
import { builtinRules } from '../../../../alerts/rules/index.js';
import { alarmTypeName, hazardOf, ruleName } from '../../../../core/index.js';
import { requireRole } from '../../../plugins/app/auth.js';
import { inRequest } from '../../../plugins/app/errors.js';
import { siteVisibility } from '../../../plugins/app/scope.js';
import { authErrors } from '../../../schemas.js';
import { langQuery, requestLang } from '../../../services/text.js';
import type { AlertRouteOptions } from '../alerts/schemas.js';

/**
 * `GET|PUT /api/rules`: the rules configuration (alerts/config.ts: per-rule parameter overrides for
 * all devices, per kind, per site, per device). Every role may read it (a control room should see
 * the thresholds it is alarmed by); only admin replaces it. A PUT is the whole configuration, checked
 * twice: its shape by the body schema, then every override against its rule (unknown rules and
 * parameters, out-of-range values) by the engine, which stores it and applies it to the next
 * reading — both refusals answer 400 with the path of what to fix.
 * `GET /api/rules/catalog?lang` lists the rules themselves: names in the reader's language, what
 * they raise, for which kinds, and their default parameters (the thresholds, citing their sources
 * in alerts/rules/).
 * Site scope: a site-limited caller reads the configuration without other sites' and their devices'
 * overrides; replacing the whole configuration needs admin over every site (a site's admin uses
 * `PUT /api/rules/sites/{site}`).
 */

const catalogSchema = z.object({
  items: z.array(z.object({
    rule: z.string(), name: z.string(), description: z.string(),
    alarmTypes: z.array(z.object({ type: z.string(), name: z.string(), hazard: z.string() })),
    kinds: z.array(z.string()), defaults: z.record(z.string(), z.unknown()),
  })),
}).meta({ id: 'RuleCatalog' });

export const ruleRoutes: FastifyPluginAsyncZod<AlertRouteOptions> = async (app, { deps, alerts }) => {
  const { engine } = alerts;
  const configSchema = rulesConfigSchema.meta({ id: 'RulesConfig' });

  app.get(
    '/',
    {
      config: { siteScoped: true },
      schema: { tags: ['rules'], summary: 'The alert rules configuration in force (of the caller\'s sites)', response: { 200: configSchema, ...authErrors } },
    },
    async (request) => {
      const all = engine.rulesConfig();
      if (request.principal?.sites === '*') return all;
      const visible = siteVisibility(request);
      const keep = <T>(rec: Record<string, T>, siteOf: (key: string) => string | undefined) =>
        Object.fromEntries(Object.entries(rec).filter(([k]) => visible(siteOf(k))));
      return { ...all, sites: keep(all.sites, (s) => s), devices: keep(all.devices, (d) => deps.directory.get(d)?.site) };
    },
  );

  app.get(
    '/catalog',
    {
      config: { siteScoped: true },
      schema: { tags: ['rules'], summary: 'The built-in rules: names (zh-CN / en), alarm types, kinds and default parameters', querystring: z.object(langQuery), response: { 200: catalogSchema, ...authErrors } },
    },
    async (request) => {
      const lang = requestLang(request, request.query.lang);
      return {
        items: Object.entries(builtinRules).map(([rule, r]) => ({
          rule, name: ruleName(rule, lang), description: r.description,
          alarmTypes: r.alarmTypes.map((type) => ({ type, name: alarmTypeName(type, lang), hazard: hazardOf(type) })),
          kinds: [...r.kinds], defaults: { ...(r.defaults as unknown as Record<string, unknown>) },
        })),
      };
    },
  );

  app.put(
    '/',
    {
      preHandler: requireRole('admin'),
      schema: {
        tags: ['rules'],
        summary: 'Replace the alert rules configuration (admin); stored, and applied to the next reading',
        body: configSchema,
        response: { 200: configSchema, ...authErrors },
      },
    },
    async (request) => {
      // A refused configuration (RulesConfigError) answers 400 validation_failed with the path of each mistake in the body.
      const applied = await engine.setRulesConfig(request.body).catch((err: unknown) => { throw inRequest('body', err); });
      request.log.info({ by: request.principal?.tokenId }, 'alert rules configuration replaced');
      return applied;
    },
  );
};
