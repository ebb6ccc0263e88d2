import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import type { RulesConfig } from '../../../../alerts/config.js';
import { RulesConfigError, type Rule } from '../../../../alerts/contracts.js';
import { builtinRules } from '../../../../alerts/rules/index.js';
import { idSchema, ruleName, type KindName } from '../../../../core/index.js';
import { notFound, validationFailed } from '../../../plugins/app/errors.js';
import { assertSiteVisible, requireRoleAt, requireRoleSomewhere } from '../../../plugins/app/scope.js';
import { authErrors, errorSchema } from '../../../schemas.js';
import { langQuery, requestLang } from '../../../services/text.js';
import type { AlertRouteOptions } from '../alerts/schemas.js';

/**
 * `GET|PUT /api/rules/sites/{site}`: the rule parameters of one site, for the control room's
 * administration. GET answers the site's own overrides and, per rule and device kind, the
 * parameters in force there (code defaults ← per-kind defaults ← `all` ← `kinds[kind]` ← this
 * site; a device's own overrides still win over them) beside what the site inherits without its
 * overrides. PUT replaces the site's overrides and nothing else of the configuration, checked
 * like `PUT /api/rules` (unknown rules and parameters, out-of-range values) and then, which a
 * whole-configuration PUT cannot know until a reading arrives, the merged parameters of every kind
 * against the rule's own cross-field checks (a clear level at or above its threshold) — refused with
 * 400 and the path of what to fix rather than a rule silently skipped.
 * Site scope: only the caller's sites (another is 404, as a missing one); PUT needs admin at the site.
 */

type Overrides = Record<string, Record<string, unknown>>;
const overridesSchema = z.record(z.string(), z.record(z.string(), z.unknown()));

const siteRulesSchema = z.object({
  site: z.string(),
  overrides: overridesSchema.describe('this site\'s own overrides, by rule then parameter (the PUT body)'),
  rules: z.array(z.object({
    rule: z.string(),
    name: z.string(),
    kind: z.string(),
    inherited: z.record(z.string(), z.unknown()).describe('the parameters without this site\'s overrides'),
    effective: z.record(z.string(), z.unknown()).describe('the parameters in force for this kind at this site'),
  })),
}).meta({ id: 'SiteRules' });

function merged(rule: Rule, kind: KindName, config: RulesConfig, name: string, site?: Overrides): Record<string, unknown> {
  return {
    ...(rule.defaults as unknown as Record<string, unknown>),
    ...rule.kindDefaults?.[kind],
    ...config.all[name],
    ...config.kinds[kind]?.[name],
    ...site?.[name],
  };
}

/**
 * The first merged parameter set (per rule and kind) that the rule's own schema refuses as a whole,
 * once every value passed on its own; a value refused on its own is left to the engine's message.
 */
function crossFieldIssue(body: Overrides, config: RulesConfig, rules: Readonly<Record<string, Rule>>): { path: string; message: string } | undefined {
  for (const [name, partial] of Object.entries(body)) {
    const rule = rules[name];
    if (!rule) return undefined;
    const shape = (rule.params as unknown as { shape?: Record<string, z.ZodType> }).shape ?? {};
    if (Object.entries(partial).some(([p, v]) => !shape[p]?.safeParse(v).success)) return undefined;
    for (const kind of rule.kinds) {
      const r = rule.params.safeParse(merged(rule, kind, config, name, body));
      const issue = r.success ? undefined : r.error.issues[0];
      if (issue) return { path: [name, ...issue.path.map(String)].join('.'), message: `${issue.message} (${kind}, with the parameters it inherits)` };
    }
  }
  return undefined;
}

export const siteRuleRoutes: FastifyPluginAsyncZod<AlertRouteOptions> = async (app, { deps, alerts }) => {
  const { engine } = alerts;
  const rules = builtinRules as unknown as Readonly<Record<string, Rule>>;
  const params = z.object({ site: idSchema });

  const siteExists = async (request: Parameters<typeof assertSiteVisible>[0], site: string) => {
    assertSiteVisible(request, site, `site ${site}`);
    if (!(await deps.state.getSite(site))) throw notFound(`site ${site}`);
  };

  const view = (site: string, config: RulesConfig, lang: 'zh-CN' | 'en') => {
    const own = config.sites[site] ?? {};
    return {
      site,
      overrides: own,
      rules: Object.entries(rules).flatMap(([name, rule]) => rule.kinds.map((kind) => ({
        rule: name, name: ruleName(name, lang), kind,
        inherited: merged(rule, kind, config, name), effective: merged(rule, kind, config, name, own),
      }))),
    };
  };

  app.get(
    '/:site',
    {
      config: { siteScoped: true },
      schema: {
        tags: ['rules'],
        summary: 'The rule parameters of one site: its overrides and what is in force per rule and kind',
        params, querystring: z.object(langQuery),
        response: { 200: siteRulesSchema, 404: errorSchema, ...authErrors },
      },
    },
    async (request) => {
      await siteExists(request, request.params.site);
      return view(request.params.site, engine.rulesConfig(), requestLang(request, request.query.lang));
    },
  );

  app.put(
    '/:site',
    {
      preHandler: requireRoleSomewhere('admin'),
      config: { siteScoped: true },
      schema: {
        tags: ['rules'],
        summary: 'Replace one site\'s rule parameter overrides (admin); the rest of the configuration is kept',
        description: 'Body: `{<rule>: {<parameter>: value}}`; `{}` removes the site\'s overrides. Applied to the next reading.',
        params, querystring: z.object(langQuery), body: overridesSchema,
        response: { 200: siteRulesSchema, 404: errorSchema, ...authErrors },
      },
    },
    async (request) => {
      const { site } = request.params;
      await siteExists(request, site);
      requireRoleAt(request, site, 'admin');
      const body = request.body;
      const prefix = `sites.${site}.`;
      const applied = await engine.updateRulesConfig((current) => {
        const issue = crossFieldIssue(body, current, rules);
        if (issue) throw new RulesConfigError([issue]);
        const sites = { ...current.sites };
        if (Object.keys(body).length === 0) delete sites[site];
        else sites[site] = body;
        return { ...current, sites };
      }).catch((err: unknown) => {
        if (!(err instanceof RulesConfigError)) throw err;
        // The engine names paths in the whole configuration; the body is this site's part of it.
        throw validationFailed(err.issues.map((i) => ({ in: 'body', path: i.path.startsWith(prefix) ? i.path.slice(prefix.length) : i.path === `sites.${site}` ? '' : i.path, message: i.message })));
      });
      request.log.info({ site, rules: Object.keys(body), by: request.principal?.tokenId }, 'site rule parameters replaced');
      return view(site, applied, requestLang(request, request.query.lang));
    },
  );
};
