import type { FastifyInstance } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { AlarmError } from '../../../../alerts/contracts.js';
import type { Role, TextOptions } from '../../../../core/index.js';
import { idSchema } from '../../../../core/registry.js';
import { ApiError } from '../../../plugins/app/errors.js';
import { canSeeSite, requireRoleAt, requireRoleSomewhere } from '../../../plugins/app/scope.js';
import { authErrors, errorSchema } from '../../../schemas.js';
import type { People } from '../../../services/people.js';
import { requestLang, type TextResolver } from '../../../services/text.js';

/**
 * The lifecycle actions of alarms and incidents, one definition for both: `POST /{id}/ack`,
 * `/assign`, `/comment`, `/clear`. Roles: maintenance staff (and above) work the alarms they are
 * sent to — acknowledge, comment, clear; assigning people is dispatch, the operator's (and admin's) job. The actor on the timeline is the token's name.
 * Roles are per site: the caller needs the role at the site of the alarm or incident (a maintenance
 * grant at one site and viewer at another acknowledges only at the first); another site's one answers
 * exactly as a missing one does (404 `not_found`).
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
  /** The item as it stands (its site decides who may act on it), or undefined. */
  readonly get: (id: string) => Promise<T | undefined>;
  readonly toJson: (item: T, text: TextOptions) => unknown;
  readonly texts: TextResolver;
  /** What acknowledging and clearing do beyond the item itself (incidents: their alarms too). */
  readonly also?: string;
  /** With accounts: `assign` also takes `{accountId}`, a person with a role at the item's site (api/services/people.ts). */
  readonly people?: Pick<People, 'assignable'>;
}

const maintenance = requireRoleSomewhere('maintenance');
const operator = requireRoleSomewhere('operator');

export function actionRoutes<T extends { readonly site: string }>(app: FastifyInstance, o: ActionRoutesOptions<T>): void {
  const r = app.withTypeProvider<ZodTypeProvider>();
  const errors = { 404: errorSchema, 409: errorSchema, ...authErrors };
  const actor = (p: { name: string } | null) => {
    if (!p) throw new ApiError(401, 'unauthorized', 'a bearer token is required');
    return p.name;
  };
  const answer = async (request: Parameters<typeof requestLang>[0] & { params: { id: string } }, min: Role, action: (current: T | undefined) => Promise<T>) => {
    const current = await o.get(request.params.id);
    // What the service answers for an id it does not know, word for word.
    if (current && !canSeeSite(request, current.site)) throw new AlarmError('not_found', `no ${o.noun} ${request.params.id}`);
    if (current) requireRoleAt(request, current.site, min);
    // A refused action (AlarmError) is answered by the error handler: 404, 400 or 409 with its code.
    const item = await action(current);
    return o.toJson(item, (await o.texts.forSites(requestLang(request), [item.site]))(item.site));
  };
  const also = o.also ? ` ${o.also}` : '';

  const config = { siteScoped: true };
  r.post('/:id/ack', {
    preHandler: maintenance, config,
    schema: { tags: [o.tag], summary: `Acknowledge an ${o.noun}${also} (maintenance); stops its escalation`, params: o.params, response: { 200: o.response, ...errors } },
  }, async (request) => answer(request, 'maintenance', () => o.service.ack(request.params.id, actor(request.principal))));

  r.post('/:id/assign', {
    preHandler: operator, config,
    schema: {
      tags: [o.tag], summary: `Assign an ${o.noun} to someone (operator): a person by account id, or free text`, params: o.params,
      body: z.object({
        assignee: z.string().trim().min(1).max(128).optional().describe('free text (a team, a contractor), stored as given'),
        accountId: idSchema.optional().describe("a person: an enabled account with a role at the item's site (422 not_at_site otherwise, whether it does not exist, is disabled or serves other sites)"),
      }).strict().refine((b) => (b.assignee === undefined) !== (b.accountId === undefined), 'give either assignee (free text) or accountId (a person)'),
      response: { 200: o.response, 422: errorSchema, ...errors },
    },
  }, async (request) => answer(request, 'operator', async (current) => {
    const { id } = request.params;
    const { assignee, accountId } = request.body;
    if (accountId === undefined) return o.service.assign(id, assignee as string, actor(request.principal));
    if (!o.people) throw new ApiError(422, 'no_accounts', 'this hub keeps no accounts: assign with free text (assignee)');
    // The person is checked against the item's site; the service answers 404 for an unknown id as for free text.
    if (current) await o.people.assignable(accountId, current.site);
    return o.service.assign(id, accountId, actor(request.principal));
  }));

  r.post('/:id/comment', {
    preHandler: maintenance, config,
    schema: {
      tags: [o.tag], summary: `Add a comment to the ${o.noun}'s timeline (maintenance)`, params: o.params,
      body: z.object({ text: z.string().trim().min(1).max(4_000) }).strict(), response: { 200: o.response, ...errors },
    },
  }, async (request) => answer(request, 'maintenance', () => o.service.comment(request.params.id, actor(request.principal), request.body.text)));

  r.post('/:id/clear', {
    preHandler: maintenance, config,
    schema: { tags: [o.tag], summary: `Clear an ${o.noun}${also} by hand (maintenance); 409 when it is already cleared`, params: o.params, response: { 200: o.response, ...errors } },
  }, async (request) => answer(request, 'maintenance', () => o.service.clear(request.params.id, actor(request.principal))));
}
