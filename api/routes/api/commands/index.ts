import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import {
  commandInputSchema, commandNames, commandStatuses, HUSH_MAX_SECONDS, idSchema, TTL_DEFAULT_SECONDS, TTL_MAX_SECONDS, type Command,
} from '../../../../core/index.js';
import { EVENTS_KEPT, type CommandEvent } from '../../../../commands/index.js';
import { requireRole } from '../../../plugins/app/auth.js';
import { eventStreamRoute } from '../alerts/stream.js';
import { notFound } from '../../../plugins/app/errors.js';
import { authErrors, errorSchema, idParams, isoTime, pageQuery, toIso, withoutNulls } from '../../../schemas.js';
import type { CommandsApiDeps, RouteOptions } from '../../../types.js';

/**
 * Commands to devices: `POST /api/devices/{id}/commands` sends one (202: accepted, the device has
 * not acted yet), `GET /api/commands` and `/api/commands/{id}` follow it. Who sent it is recorded
 * from the bearer token and shown. Reading is open to every role (the control room shows what was
 * done to a device); sending needs ANJU_COMMAND_ROLE (default operator) — a viewer never, an admin always.
 */

const commandOut = z.object({
  id: z.string(),
  device: z.string(),
  name: z.enum(commandNames),
  params: z.record(z.string(), z.unknown()).optional(),
  status: z.enum(commandStatuses).describe(
    'queued → sent → delivered → succeeded | failed | expired; queued also while held for a device no session of which listens for commands',
  ),
  sentBy: z.string().describe('who sent it: `token:<API token name>`'),
  createdAt: isoTime,
  expiresAt: isoTime.describe('not delivered by then: expired, and the broker withholds it'),
  sentAt: isoTime.optional().describe('handed to the broker for a device listening or with a persistent session (a held command: when the device subscribed)'),
  deliveredAt: isoTime.optional().describe('the device acknowledged it (PUBACK on a persistent session), or replied'),
  completedAt: isoTime.optional(),
  message: z.string().optional().describe("the device's words, or why the platform gave up"),
  state: z.string().optional().describe('what the device reported after it, e.g. `closed` for a valve'),
}).meta({ id: 'Command' });

export const out = (c: Command) => withoutNulls({
  ...c,
  createdAt: toIso(c.createdAt), expiresAt: toIso(c.expiresAt),
  sentAt: c.sentAt === undefined ? undefined : toIso(c.sentAt),
  deliveredAt: c.deliveredAt === undefined ? undefined : toIso(c.deliveredAt),
  completedAt: c.completedAt === undefined ? undefined : toIso(c.completedAt),
}) as z.infer<typeof commandOut>;

export const commandRoutes: FastifyPluginAsyncZod<RouteOptions & { commands: CommandsApiDeps }> = async (app, { config, commands }) => {
  const { service } = commands;

  app.post(
    '/devices/:id/commands',
    {
      preHandler: requireRole(commands.minRole),
      schema: {
        tags: ['commands'],
        summary: 'Send a command to a device; answers 202 with it as sent',
        description: 'Published QoS 1 on `devices/{id}/commands/{name}` as `{id, name, params?, expiresAt}`; the device answers on '
          + '`devices/{id}/replies` with `{id, outcome: succeeded|failed, message? (or detail?), state?}`. A device with a persistent session '
          + `(clean session = 0) gets it when it reconnects, until \`ttlSeconds\` (default ${TTL_DEFAULT_SECONDS}, at most ${TTL_MAX_SECONDS}) have passed. `
          + 'Commands per capability: valve (water_meter) open, close; switch (power_meter) open (power off), close, reset; '
          + `hush (smoke_detector) hush with params.durationSeconds ≤ ${HUSH_MAX_SECONDS}; self_test test. `
          + 'A command the device does not declare in its `capabilities` answers 409 command_not_supported.',
        params: idParams,
        body: commandInputSchema,
        response: { 202: commandOut, 404: errorSchema, 409: errorSchema, ...authErrors },
      },
    },
    async (request, reply) => {
      const p = request.principal!;
      const command = await service.send(request.params.id, request.body, `token:${p.name}`);
      request.log.info({ audit: 'command.send', token: p.tokenId, device: command.device, command: command.id, name: command.name }, 'command sent');
      return reply.code(202).send(out(command));
    },
  );

  app.get(
    '/commands',
    {
      schema: {
        tags: ['commands'],
        summary: 'List commands, newest first',
        querystring: z.object({ device: idSchema.optional(), status: z.enum(commandStatuses).optional(), ...pageQuery(config.maxListLimit) }),
        response: { 200: z.object({ items: z.array(commandOut), total: z.number().int() }), ...authErrors },
      },
    },
    async (request) => {
      const { device, status, limit, offset } = request.query;
      const page = await service.list({ ...(device ? { device } : {}), ...(status ? { status } : {}) }, { limit, offset });
      return { items: page.items.map(out), total: page.total };
    },
  );

  app.get(
    '/commands/:id',
    {
      schema: {
        tags: ['commands'], summary: 'Get a command with its times', params: z.object({ id: z.string().min(1).max(64) }),
        response: { 200: commandOut, 404: errorSchema, ...authErrors },
      },
    },
    async (request) => {
      const command = await service.get(request.params.id);
      if (!command) throw notFound(`command ${request.params.id}`);
      return out(command);
    },
  );
};

/** `GET /api/commands/stream`: every change of a command as SSE (`event: command`, data `{seq, ts, command}`), resumable from memory. */
export const commandStreamRoutes: FastifyPluginAsyncZod<RouteOptions & { commands: CommandsApiDeps }> = async (app, opts) => {
  const { service } = opts.commands;
  eventStreamRoute<CommandEvent>(app, opts, {
    what: `Command changes (the last ${EVENTS_KEPT} are replayed on resume)`,
    subscribe: (l) => service.subscribe(l),
    eventsSince: (seq, limit) => service.eventsSince(seq, limit),
    toJson: (e) => ({ seq: e.seq, ts: toIso(e.ts), command: out(e.command) }),
  }, 'commands');
};
