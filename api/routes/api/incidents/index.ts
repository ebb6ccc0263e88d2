import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { incidentEventToJson, incidentSummaryToJson, incidentToJson } from '../../../../alerts/index.js';
import type { Incident, IncidentEvent } from '../../../../storage/incidents/contract.js';
import { notFound } from '../../../plugins/app/errors.js';
import { canSeeSite, siteFilter } from '../../../plugins/app/scope.js';
import { authErrors, errorSchema } from '../../../schemas.js';
import { createPeople } from '../../../services/people.js';
import { createTextResolver, langQuery, requestLang } from '../../../services/text.js';
import { actionRoutes } from '../alerts/actions.js';
import type { AlertRouteOptions } from '../alerts/schemas.js';
import { eventStreamRoute } from '../alerts/stream.js';
import { incidentFilterQuery, incidentParams, incidentSchema, incidentSummarySchema, toIncidentQuery } from './schemas.js';

/**
 * Incidents (DESIGN §5): `/api/incidents` (filters like alarms, plus hazard, level and the alarm
 * an incident holds; each item lists its alarm ids and folds its alarms), `/api/incidents/{id}`
 * with its timeline, the actions, and `/api/incidents/stream` (SSE, its own seq, resumable).
 * Acknowledging or clearing an incident does the same to each of its alarms (which keep their own
 * timelines); a 火警 stays until cleared here. Roles as for alarms: maintenance acknowledges,
 * comments and clears; operator also assigns.
 */

export const incidentRoutes: FastifyPluginAsyncZod<AlertRouteOptions> = async (app, opts) => {
  const { config, deps, alerts } = opts;
  const { incidents } = alerts;
  const texts = createTextResolver({ state: deps.state, directory: deps.directory, ...(deps.now ? { now: deps.now } : {}) });
  const textFor = async (request: Parameters<typeof requestLang>[0], items: readonly Incident[], lang?: Parameters<typeof requestLang>[1]) =>
    texts.forSites(requestLang(request, lang), items.map((i) => i.site));

  app.get(
    '/',
    {
      config: { siteScoped: true },
      schema: {
        tags: ['incidents'],
        summary: 'List incidents of the caller\'s sites (correlated alarms, one per site, building and hazard), newest first',
        querystring: incidentFilterQuery(config.maxListLimit),
        response: { 200: z.object({ items: z.array(incidentSummarySchema), total: z.number().int() }), ...authErrors },
      },
    },
    async (request) => {
      const page = await incidents.list({ ...toIncidentQuery(request.query, request.principal), ...siteFilter(request, request.query.site) });
      const text = await textFor(request, page.items, request.query.lang);
      return { items: page.items.map((i) => incidentSummaryToJson(i, text(i.site))), total: page.total };
    },
  );

  // Registered before `/:id`, which would otherwise take `stream` for an id.
  // Cluster: the shared log's feed (every node's events); otherwise this node's incidents.
  const events = alerts.feeds?.incidents ?? incidents;
  eventStreamRoute<IncidentEvent>(app, opts, {
    what: 'Incident events', subscribe: (l) => events.subscribe(l), eventsSince: (seq, limit) => events.eventsSince(seq, limit),
    toJson: (e) => incidentEventToJson(e), siteOf: (e) => e.incident.site,
  }, 'incidents');

  app.get(
    '/:id',
    {
      config: { siteScoped: true },
      schema: {
        tags: ['incidents'],
        summary: 'Get an incident with its timeline and its alarms',
        params: incidentParams,
        querystring: z.object(langQuery),
        response: { 200: incidentSchema, 404: errorSchema, ...authErrors },
      },
    },
    async (request) => {
      const incident = await incidents.get(request.params.id);
      if (!incident || !canSeeSite(request, incident.site)) throw notFound(`incident ${request.params.id}`);
      return incidentToJson(incident, (await textFor(request, [incident], request.query.lang))(incident.site));
    },
  );

  actionRoutes<Incident>(app, {
    tag: 'incidents', noun: 'incident', params: incidentParams, response: incidentSchema, service: incidents, get: (id) => incidents.get(id), texts,
    ...(deps.accounts ? { people: createPeople({ accounts: deps.accounts }) } : {}),
    toJson: (i, text) => incidentToJson(i, text), also: 'and its alarms',
  });
};
