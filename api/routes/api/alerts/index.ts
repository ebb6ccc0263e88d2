import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import type { Alarm } from '../../../../alerts/contracts.js';
import { alarmSummaryToJson, alarmToJson } from '../../../../alerts/notifiers/payload.js';
import { requireRole } from '../../../plugins/app/auth.js';
import { ApiError, notFound } from '../../../plugins/app/errors.js';
import { authErrors, errorSchema } from '../../../schemas.js';
import { alarmFilterQuery, alarmParams, alarmSchema, alarmSummarySchema, toAlarmQuery, toApiError, type AlertRouteOptions } from './schemas.js';

/**
 * Alarms: `/api/alerts` (list), `/api/alerts/{id}` (with its timeline) and the lifecycle actions.
 * Roles (issue 4): every role reads; maintenance (and above) acknowledges, comments and clears;
 * operator (and admin) also assigns. The actor recorded on the timeline is the token's name.
 * The engine decides whether an action is allowed in the alarm's state (AlarmError → 404/400/409).
 */

const maintenance = requireRole('maintenance');
const operator = requireRole('operator');

export const alertRoutes: FastifyPluginAsyncZod<AlertRouteOptions> = async (app, { config, alerts }) => {
  const { engine } = alerts;
  const actionErrors = { 404: errorSchema, 409: errorSchema, ...authErrors };

  app.get(
    '/',
    {
      schema: {
        tags: ['alerts'],
        summary: 'List alarms, newest first',
        querystring: alarmFilterQuery(config.maxListLimit),
        response: { 200: z.object({ items: z.array(alarmSummarySchema), total: z.number().int() }), ...authErrors },
      },
    },
    async (request) => {
      const page = await engine.list(toAlarmQuery(request.query));
      return { items: page.items.map(alarmSummaryToJson), total: page.total };
    },
  );

  app.get(
    '/:id',
    {
      schema: {
        tags: ['alerts'],
        summary: 'Get an alarm with its timeline',
        params: alarmParams,
        response: { 200: alarmSchema, 404: errorSchema, ...authErrors },
      },
    },
    async (request) => {
      const alarm = await engine.get(request.params.id);
      if (!alarm) throw notFound(`alarm ${request.params.id}`);
      return alarmToJson(alarm);
    },
  );

  /** Runs a lifecycle action as the caller and answers the alarm as it now stands. */
  const act = async (action: () => Promise<Alarm>) => {
    try {
      return alarmToJson(await action());
    } catch (err) {
      throw toApiError(err);
    }
  };
  const actor = (p: { name: string } | null) => {
    if (!p) throw new ApiError(401, 'unauthorized', 'a bearer token is required');
    return p.name;
  };

  app.post(
    '/:id/ack',
    {
      preHandler: maintenance,
      schema: { tags: ['alerts'], summary: 'Acknowledge an alarm (maintenance); stops its escalation', params: alarmParams, response: { 200: alarmSchema, ...actionErrors } },
    },
    async (request) => act(() => engine.ack(request.params.id, actor(request.principal))),
  );

  app.post(
    '/:id/assign',
    {
      preHandler: operator,
      schema: {
        tags: ['alerts'],
        summary: 'Assign an alarm to someone (operator)',
        params: alarmParams,
        body: z.object({ assignee: z.string().trim().min(1).max(128) }).strict(),
        response: { 200: alarmSchema, ...actionErrors },
      },
    },
    async (request) => act(() => engine.assign(request.params.id, request.body.assignee, actor(request.principal))),
  );

  app.post(
    '/:id/comment',
    {
      preHandler: maintenance,
      schema: {
        tags: ['alerts'],
        summary: 'Add a comment to the timeline (maintenance)',
        params: alarmParams,
        body: z.object({ text: z.string().trim().min(1).max(4_000) }).strict(),
        response: { 200: alarmSchema, ...actionErrors },
      },
    },
    async (request) => act(() => engine.comment(request.params.id, actor(request.principal), request.body.text)),
  );

  app.post(
    '/:id/clear',
    {
      preHandler: maintenance,
      schema: {
        tags: ['alerts'],
        summary: 'Clear an alarm by hand (maintenance); 409 when it is already cleared',
        params: alarmParams,
        response: { 200: alarmSchema, ...actionErrors },
      },
    },
    async (request) => act(() => engine.clear(request.params.id, actor(request.principal))),
  );
};
