import type { FastifyRequest } from 'fastify';
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { hazards } from '../../../../core/alarms.js';
import { idSchema } from '../../../../core/registry.js';
import { rosterSchema, whoIsOnDuty } from '../../../../core/roster.js';
import type { AccountStore } from '../../../../storage/accounts/contract.js';
import type { RosterStore, StoredRoster } from '../../../../storage/rosters/contract.js';
import { ApiError, notFound, validationFailed } from '../../../plugins/app/errors.js';
import { assertSiteVisible, requireRoleAt, requireRoleSomewhere } from '../../../plugins/app/scope.js';
import { authErrors, errorSchema, idParams, isoTime, toIso } from '../../../schemas.js';
import { createPeople } from '../../../services/people.js';
import { instantQuery } from '../../../time.js';
import type { RouteOptions } from '../../../types.js';

/**
 * A site's on-call roster (值班表, core/roster.ts) and who is on duty:
 * - `GET /api/sites/{id}/roster` (any role) and `/roster/history` (its earlier versions, newest first);
 * - `PUT /api/sites/{id}/roster` (operator or admin): the whole roster, every person named an
 *   account with a role at the site (422 `unknown_people` otherwise); the time zone defaults to the site's;
 * - `GET /api/sites/{id}/on-duty?hazard&building&at`: the chain an incident would be handed along
 *   (those on duty in order, then the managers), with display names.
 * An unknown site is 404 `not_found`; a known site without a roster 404 `no_roster`.
 */

export interface RosterRouteOptions extends RouteOptions {
  readonly rosters: RosterStore;
  readonly accounts: AccountStore;
}

const rosterBody = rosterSchema.omit({ site: true, timezone: true }).extend({
  site: idSchema.optional().describe('the site of the path; refused when it names another'),
  timezone: rosterSchema.shape.timezone.optional().describe("IANA zone the roster's times are in; default: the site's"),
});

const storedRosterSchema = z.object({
  site: z.string(), version: z.number().int(), updatedAt: isoTime, updatedBy: z.string(), roster: rosterSchema,
}).meta({ id: 'StoredRoster' });

const onDutySchema = z.object({
  site: z.string(), hazard: z.enum(hazards), building: z.string().optional(), at: isoTime, timezone: z.string(),
  source: z.enum(['exception', 'pattern', 'managers']).describe('where those on duty came from: an exception, the weekly pattern, or nobody (the managers only)'),
  chain: z.array(z.object({
    id: z.string(), displayName: z.string().describe('the account id when the account is gone'), manager: z.boolean(),
  })).describe('in the order they are called: on duty first (building steward before site-wide), then the managers'),
}).meta({ id: 'OnDuty' });

const toJson = (s: StoredRoster) => ({ site: s.roster.site, version: s.version, updatedAt: toIso(s.updatedAt), updatedBy: s.updatedBy, roster: s.roster });

export const rosterRoutes: FastifyPluginAsyncZod<RosterRouteOptions> = async (app, { deps, rosters, accounts }) => {
  const { state } = deps;
  const people = createPeople({ accounts });
  const now = deps.now ?? Date.now;
  // Another site's roster answers what a site that does not exist answers (api/plugins/app/scope.ts).
  const site = async (request: FastifyRequest, id: string) => {
    assertSiteVisible(request, id, `site ${id}`);
    const s = await state.getSite(id);
    if (!s) throw notFound(`site ${id}`);
    return s;
  };
  const current = async (request: FastifyRequest, id: string) => {
    await site(request, id);
    const r = await rosters.get(id);
    if (!r) throw new ApiError(404, 'no_roster', `site ${id} has no roster yet: PUT one`);
    return r;
  };

  const config = { siteScoped: true };
  app.get('/:id/roster', {
    config,
    schema: {
      tags: ['sites'], summary: "A site's on-call roster (any role)", params: idParams,
      response: { 200: storedRosterSchema, 404: errorSchema, ...authErrors },
    },
  }, async (request) => toJson(await current(request, request.params.id)));

  app.get('/:id/roster/history', {
    config,
    schema: {
      tags: ['sites'], summary: "A site's roster versions, newest first (any role)", params: idParams,
      querystring: z.object({ limit: z.coerce.number().int().min(1).max(100).default(20) }),
      response: { 200: z.object({ items: z.array(storedRosterSchema), total: z.number().int() }), 404: errorSchema, ...authErrors },
    },
  }, async (request) => {
    await site(request, request.params.id);
    const items = (await rosters.history(request.params.id, request.query.limit)).map(toJson);
    return { items, total: items.length };
  });

  app.put('/:id/roster', {
    preHandler: requireRoleSomewhere('operator'), config,
    schema: {
      tags: ['sites'], summary: "Replace a site's on-call roster (operator)", params: idParams, body: rosterBody,
      response: { 200: storedRosterSchema, 404: errorSchema, 422: errorSchema, ...authErrors },
    },
  }, async (request) => {
    const { id } = request.params;
    const s = await site(request, id);
    requireRoleAt(request, id, 'operator');
    if (request.body.site !== undefined && request.body.site !== id) {
      throw validationFailed([{ in: 'body', path: 'site', message: `the roster names site ${request.body.site}, the path site ${id}` }]);
    }
    const roster = rosterSchema.parse({ ...request.body, site: id, timezone: request.body.timezone ?? s.timezone });
    await people.checkRoster(roster);
    const stored = await rosters.put(roster, request.principal?.name ?? 'unknown', now());
    request.log.info({ site: id, version: stored.version, by: request.principal?.tokenId }, 'roster changed');
    return toJson(stored);
  });

  app.get('/:id/on-duty', {
    config,
    schema: {
      tags: ['sites'], summary: 'Who is on duty for a hazard in a building, as the chain an incident is handed along (any role)', params: idParams,
      querystring: z.object({
        hazard: z.enum(hazards), building: idSchema.optional(), at: instantQuery.optional().describe('the moment asked about; default now'),
      }),
      response: { 200: onDutySchema, 404: errorSchema, ...authErrors },
    },
  }, async (request) => {
    const { hazard, building, at = now() } = request.query;
    const { roster } = await current(request, request.params.id);
    const duty = whoIsOnDuty(roster, hazard, building, at);
    // The same moment without the managers: who is on duty in person (a manager on a shift is called as on duty).
    const onDuty = new Set(whoIsOnDuty({ ...roster, managers: [] }, hazard, building, at).chain);
    const names = await people.names(duty.chain);
    return {
      site: roster.site, hazard, ...(building ? { building } : {}), at: toIso(at), timezone: roster.timezone, source: duty.source,
      chain: duty.chain.map((p) => ({ id: p, displayName: names.get(p) ?? p, manager: !onDuty.has(p) })),
    };
  });
};
