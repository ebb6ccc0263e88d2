import type { FastifyRequest } from 'fastify';
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { defaultResponsePolicy, responsePolicySchema, responseSiteParams, type ResponsePolicy } from '../../../../core/index.js';
import { notFound } from '../../../plugins/app/errors.js';
import { assertSiteVisible, requireRoleAt, requireRoleSomewhere } from '../../../plugins/app/scope.js';
import { authErrors, errorSchema, isoTime, toIso } from '../../../schemas.js';
import type { ResponsesApiDeps, RouteOptions } from '../../../types.js';

/**
 * `GET|PUT|DELETE /api/responses/sites/{site}`: a site's incident response policy (core/responses.ts)
 * — which alarm proposes which command to its device, and whether the platform may carry it out by
 * itself after `autoAfterMinutes` (only with `allowAuto`, never through an interlock). Read by any
 * role (the control room shows what a confirmation will do); replaced by an admin. Applies to
 * alarms from the next one on; proposals already made keep what they were made with.
 */

const policyOut = z.object({
  site: z.string(),
  source: z.enum(['site', 'default']).describe('the site\'s own policy, or the default one (propose only) when it has none'),
  policy: responsePolicySchema,
  updatedAt: isoTime.optional(),
  updatedBy: z.string().optional(),
}).meta({ id: 'ResponsePolicy' });

export const responseRoutes: FastifyPluginAsyncZod<RouteOptions & { responses: ResponsesApiDeps }> = async (app, { deps, responses }) => {
  const { policies } = responses;
  // Another site's policy answers what a site that does not exist answers (api/plugins/app/scope.ts).
  const siteExists = async (request: FastifyRequest, site: string, min?: 'admin') => {
    assertSiteVisible(request, site, `site ${site}`);
    if (!(await deps.state.getSite(site))) throw notFound(`site ${site}`);
    if (min) requireRoleAt(request, site, min);
  };
  const config = { siteScoped: true };
  const view = (site: string): z.infer<typeof policyOut> => {
    const own = policies.own(site);
    return own
      ? { site, source: 'site', policy: own.policy, updatedAt: toIso(own.updatedAt), updatedBy: own.updatedBy }
      : { site, source: 'default', policy: defaultResponsePolicy as ResponsePolicy };
  };

  app.get('/sites/:site', {
    config,
    schema: {
      tags: ['responses'], summary: 'The incident response policy in force at a site',
      params: responseSiteParams, response: { 200: policyOut, 404: errorSchema, ...authErrors },
    },
  }, async (request) => {
    await siteExists(request, request.params.site);
    return view(request.params.site);
  });

  app.put('/sites/:site', {
    preHandler: requireRoleSomewhere('admin'), config,
    schema: {
      tags: ['responses'], summary: 'Replace a site\'s incident response policy (admin)',
      description: 'Body `{allowAuto, rules: [{alarm, minSeverity?, purposes?, command, mode: propose|auto_after, autoAfterMinutes?, ttlSeconds?}]}`. '
        + 'A rule with `auto_after` is carried out automatically only when `allowAuto` is true and no interlock forbids it: a breaker feeding an '
        + 'elevator, fire pump, smoke extraction or emergency lighting is never opened automatically (GB 50016-2014 §10.1.6, GB 51348-2019).',
      params: responseSiteParams, body: responsePolicySchema, response: { 200: policyOut, 404: errorSchema, ...authErrors },
    },
  }, async (request) => {
    await siteExists(request, request.params.site, 'admin');
    await policies.put(request.params.site, request.body, `token:${request.principal?.name ?? 'unknown'}`);
    return view(request.params.site);
  });

  app.delete('/sites/:site', {
    preHandler: requireRoleSomewhere('admin'), config,
    schema: {
      tags: ['responses'], summary: 'Remove a site\'s own policy: the default one (propose only) applies again (admin)',
      params: responseSiteParams, response: { 200: policyOut, 404: errorSchema, ...authErrors },
    },
  }, async (request) => {
    await siteExists(request, request.params.site, 'admin');
    await policies.remove(request.params.site);
    return view(request.params.site);
  });
};
