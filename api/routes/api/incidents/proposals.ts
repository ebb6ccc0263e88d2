import type { FastifyRequest } from 'fastify';
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { incidentToJson } from '../../../../alerts/index.js';
import { AlarmError } from '../../../../alerts/contracts.js';
import { ApiError } from '../../../plugins/app/errors.js';
import { canSeeSite, requireRoleAt, requireRoleSomewhere } from '../../../plugins/app/scope.js';
import { authErrors, errorSchema } from '../../../schemas.js';
import { createTextResolver, requestLang } from '../../../services/text.js';
import type { ResponsesApiDeps } from '../../../types.js';
import type { AlertRouteOptions } from '../alerts/schemas.js';
import { incidentSchema } from './schemas.js';

/**
 * `POST /api/incidents/{id}/proposals/{pid}/confirm|reject`: a person decides what the site's
 * response policy proposed (core/responses.ts). Confirming sends the command through the command
 * dispatcher (its lifecycle and audit as any command, sent by the confirming person); the answer
 * is the incident as it stands, with the proposal's command status, which then follows on the
 * incident stream. Roles: ANJU_COMMAND_ROLE (default operator), since a confirmation sends a
 * command — rejecting is the same decision, so it takes the same role. An interlocked proposal
 * (a circuit that must keep power) may be confirmed by a person; it is never carried out by itself.
 */

const params = z.object({
  id: z.string().regex(/^[A-Za-z0-9._:-]{1,128}$/, 'not an incident id'),
  pid: z.string().regex(/^[A-Za-z0-9._:-]{1,128}$/, 'not a proposal id'),
});

export const proposalRoutes: FastifyPluginAsyncZod<AlertRouteOptions & { responses: ResponsesApiDeps }> = async (app, opts) => {
  const { deps, responses, alerts } = opts;
  const texts = createTextResolver({ state: deps.state, directory: deps.directory, ...(deps.now ? { now: deps.now } : {}) });
  const responder = responses.responder;
  if (!responder) return;
  const allowed = requireRoleSomewhere(responses.minRole);
  const config = { siteScoped: true };
  // The incident's site decides who may decide: another site's incident answers what a missing one does, word for word.
  const atSite = async (request: FastifyRequest, id: string) => {
    const incident = await alerts.incidents.get(id);
    if (!incident) return;
    if (!canSeeSite(request, incident.site)) throw new AlarmError('not_found', `no incident ${id}`);
    requireRoleAt(request, incident.site, responses.minRole);
  };
  const actor = (p: { name: string } | null) => {
    if (!p) throw new ApiError(401, 'unauthorized', 'a bearer token is required');
    return p.name;
  };
  const errors = { 404: errorSchema, 409: errorSchema, ...authErrors };
  const answer = async (request: Parameters<typeof requestLang>[0], i: Awaited<ReturnType<typeof responder.confirm>>) =>
    incidentToJson(i, (await texts.forSites(requestLang(request), [i.site]))(i.site));

  app.post('/:id/proposals/:pid/confirm', {
    preHandler: allowed, config,
    schema: {
      tags: ['incidents'],
      summary: `Confirm a proposed response: its command is sent to the device (${responses.minRole} or above, ANJU_COMMAND_ROLE)`,
      description: 'Answers the incident with the proposal `confirmed` and its command (`commandId`, `commandStatus`); the outcome follows on '
        + '`/api/incidents/stream` and the timeline (`response` entries). 409 proposal_decided when it was confirmed, rejected, carried out or '
        + 'withdrawn already; 409 incident_not_active once the incident cleared.',
      params, response: { 200: incidentSchema, ...errors },
    },
  }, async (request) => {
    const who = actor(request.principal);
    await atSite(request, request.params.id);
    // The command is sent as `token:<name>`, as a command sent directly (api/routes/api/commands) is.
    return answer(request, await responder.confirm(request.params.id, request.params.pid, who, `token:${who}`));
  });

  app.post('/:id/proposals/:pid/reject', {
    preHandler: allowed, config,
    schema: {
      tags: ['incidents'],
      summary: `Reject a proposed response: nothing is sent, and it is never carried out automatically (${responses.minRole} or above)`,
      // No body at all is a rejection without a reason (Fastify gives null for it).
      params, body: z.object({ reason: z.string().trim().min(1).max(500).optional() }).strict().nullish(),
      response: { 200: incidentSchema, ...errors },
    },
  }, async (request) => {
    await atSite(request, request.params.id);
    return answer(request, await responder.reject(request.params.id, request.params.pid, actor(request.principal), request.body?.reason));
  });
};
