import type { FastifyInstance } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { z } from 'zod';
import type { TextOptions } from '../../../../core/index.js';
import { requireRole } from '../../../plugins/app/auth.js';
import { ApiError } from '../../../plugins/app/errors.js';
import { authErrors, errorSchema } from '../../../schemas.js';
import { requestLang, type TextResolver } from '../../../services/text.js';

/**
 * The lifecycle actions of alarms and incidents, one definition for both: `POST /{id}/ack`,
 * `/assign`, `/comment`, `/clear`. Roles: maintenance staff (and above) work the alarms they are
 * sent to — acknowledge, comment, clear; assigning people is dispatch, the operator's (and admin's) job. The actor on the timeline is the token's name.
 * The service decides whether the action is allowed in the current state (AlarmError → 404/400/409);
 * the answer is the thing as it now stands, with its texts in the caller's language.
 */

export interface Workable {
  ack(id: string, actor: string): Promise<unknown>;
  assign(id: string, assignee: string, actor: string): Promise<unknown>;
  comment(id: string, actor: string, text: string): Promise<unknown>;
  clear(id: string, actor: string): Promise<unknown>;
}

export interface ActionRoutesOptions<T extends { readonly site: string }> {
  readonly tag: string;
  /** `alarm` / `incident`, for the summaries. */
  readonly noun: string;
  readonly params: z.ZodObject<{ id: z.ZodString }>;
  readonly response: z.ZodType;
  readonly service: { [K in keyof Workable]: (...args: Parameters<Workable[K]>) => Promise<T> };
  readonly toJson: (item: T, text: TextOptions) => unknown;
  readonly texts: TextResolver;
  /** What acknowledging and clearing do beyond the item itself (incidents: their alarms too). */
  readonly also?: string;
}

const maintenance = requireRole('maintenance');
const operator = requireRole('operator');

export function actionRoutes<T extends { readonly site: string }>(app: FastifyInstance, o: ActionRoutesOptions<T>): void {
  const r = app.withTypeProvider<ZodTypeProvider>();
  const errors = { 404: errorSchema, 409: errorSchema, ...authErrors };
  const actor = (p: { name: string } | null) => {
    if (!p) throw new ApiError(401, 'unauthorized', 'a bearer token is required');
    return p.name;
  };
  const answer = async (request: Parameters<typeof requestLang>[0], action: () => Promise<T>) => {
    // A refused action (AlarmError) is answered by the error handler: 404, 400 or 409 with its code.
    const item = await action();
    return o.toJson(item, (await o.texts.forSites(requestLang(request), [item.site]))(item.site));
  };
  const also = o.also ? ` ${o.also}` : '';

  r.post('/:id/ack', {
    preHandler: maintenance,
    schema: { tags: [o.tag], summary: `Acknowledge an ${o.noun}${also} (maintenance); stops its escalation`, params: o.params, response: { 200: o.response, ...errors } },
  }, async (request) => answer(request, () => o.service.ack(request.params.id, actor(request.principal))));

  r.post('/:id/assign', {
    preHandler: operator,
    schema: {
      tags: [o.tag], summary: `Assign an ${o.noun} to someone (operator)`, params: o.params,
      body: z.object({ assignee: z.string().trim().min(1).max(128) }).strict(), response: { 200: o.response, ...errors },
    },
  }, async (request) => answer(request, () => o.service.assign(request.params.id, request.body.assignee, actor(request.principal))));

  r.post('/:id/comment', {
    preHandler: maintenance,
    schema: {
      tags: [o.tag], summary: `Add a comment to the ${o.noun}'s timeline (maintenance)`, params: o.params,
      body: z.object({ text: z.string().trim().min(1).max(4_000) }).strict(), response: { 200: o.response, ...errors },
    },
  }, async (request) => answer(request, () => o.service.comment(request.params.id, actor(request.principal), request.body.text)));

  r.post('/:id/clear', {
    preHandler: maintenance,
    schema: { tags: [o.tag], summary: `Clear an ${o.noun}${also} by hand (maintenance); 409 when it is already cleared`, params: o.params, response: { 200: o.response, ...errors } },
  }, async (request) => answer(request, () => o.service.clear(request.params.id, actor(request.principal))));
}
