import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import type { Alarm } from '../../../../alerts/contracts.js';
import { alarmSummaryToJson, alarmToJson } from '../../../../alerts/index.js';
import { notFound } from '../../../plugins/app/errors.js';
import { canSeeSite, siteFilter } from '../../../plugins/app/scope.js';
import { authErrors, errorSchema } from '../../../schemas.js';
import { createTextResolver, langQuery, requestLang } from '../../../services/text.js';
import { createPeople } from '../../../services/people.js';
import { actionRoutes } from './actions.js';
import { alarmFilterQuery, alarmParams, alarmSchema, alarmSummarySchema, toAlarmQuery, type AlertRouteOptions } from './schemas.js';

/**
 * Alarms: `/api/alerts` (list), `/api/alerts/{id}` (with its timeline) and the lifecycle actions.
 * Site scope: a caller sees only the alarms of their sites (another site's alarm is 404, as a missing one).
 * Roles: every role reads; maintenance staff (and above) acknowledge, comment and clear the alarms
 * they work; assigning people is dispatch, so operator (and admin) only. The actor recorded on the timeline is the token's name.
 * The engine decides whether an action is allowed in the alarm's state (AlarmError → 404/400/409).
 * Every alarm answered carries `summary` and `evidence` in the reader's language (`lang`,
 * Accept-Language, else Chinese), with devices by name and location.
 */

export const alertRoutes: FastifyPluginAsyncZod<AlertRouteOptions> = async (app, { config, deps, alerts }) => {
  const { engine } = alerts;
  const texts = createTextResolver({ state: deps.state, directory: deps.directory, ...(deps.now ? { now: deps.now } : {}) });
  const textFor = async (request: Parameters<typeof requestLang>[0], alarms: readonly Alarm[], lang?: Parameters<typeof requestLang>[1]) =>
    texts.forSites(requestLang(request, lang), alarms.map((a) => a.site));

  app.get(
    '/',
    {
      config: { siteScoped: true },
      schema: {
        tags: ['alerts'],
        summary: 'List alarms of the caller\'s sites, newest first',
        querystring: alarmFilterQuery(config.maxListLimit),
        response: { 200: z.object({ items: z.array(alarmSummarySchema), total: z.number().int() }), ...authErrors },
      },
    },
    async (request) => {
      const page = await engine.list({ ...toAlarmQuery(request.query), ...siteFilter(request, request.query.site) });
      const text = await textFor(request, page.items, request.query.lang);
      return { items: page.items.map((a) => alarmSummaryToJson(a, text(a.site))), total: page.total };
    },
  );

  app.get(
    '/:id',
    {
      config: { siteScoped: true },
      schema: {
        tags: ['alerts'],
        summary: 'Get an alarm with its timeline',
        params: alarmParams,
        querystring: z.object(langQuery),
        response: { 200: alarmSchema, 404: errorSchema, ...authErrors },
      },
    },
    async (request) => {
      const alarm = await engine.get(request.params.id);
      if (!alarm || !canSeeSite(request, alarm.site)) throw notFound(`alarm ${request.params.id}`);
      return alarmToJson(alarm, (await textFor(request, [alarm], request.query.lang))(alarm.site));
    },
  );

  actionRoutes<Alarm>(app, {
    tag: 'alerts', noun: 'alarm', params: alarmParams, get: (id) => engine.get(id), response: alarmSchema, service: engine, texts, toJson: (a, text) => alarmToJson(a, text),
    ...(deps.accounts ? { people: createPeople({ accounts: deps.accounts }) } : {}),
  });
};
