import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import {
  CommandError, commandInputSchema, commandNames, commandStatuses, HUSH_MAX_SECONDS, idSchema, TTL_DEFAULT_SECONDS, TTL_MAX_SECONDS, type Command,
} from '../../../../core/index.js';
import { EVENTS_KEPT, type CommandEvent } from '../../../../commands/index.js';
import { canSeeSite, requireRoleAt, requireRoleSomewhere, siteVisibility } from '../../../plugins/app/scope.js';
import { eventStreamRoute } from '../alerts/stream.js';
import { notFound } from '../../../plugins/app/errors.js';
import { authErrors, errorSchema, idParams, isoTime, pageQuery, toIso, withoutNulls } from '../../../schemas.js';
import type { CommandsApiDeps, RouteOptions } from '../../../types.js';

/**
 * Commands to devices: `POST /api/devices/{id}/commands` sends one (202: accepted, the device has
 * not acted yet), `GET /api/commands` and `/api/commands/{id}` follow it. Who sent it is recorded
 * from the bearer token and shown. Reading is open to every role (the control room shows what was
 * done to a device); sending needs ANJU_COMMAND_ROLE (default operator) — a viewer never, an admin always.
 * Site scope: a caller sends to, lists and follows only commands to devices of their sites, and needs
 * the role at the device's site; another site's device or command answers as a missing one.
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

export const commandRoutes: FastifyPluginAsyncZod<RouteOptions & { commands: CommandsApiDeps }> = async (app, { config, deps, commands }) => {
  const { service } = commands;
  const { directory } = deps;

  app.post(
    '/devices/:id/commands',
    {
      preHandler: requireRoleSomewhere(commands.minRole),
      config: { siteScoped: true },
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
      const device = directory.get(request.params.id);
      // What the dispatcher answers for a device it does not know, word for word.
      if (device && !canSeeSite(request, device.site)) throw new CommandError('device_not_found', 'not_found', `device ${request.params.id} is not registered`);
      if (device) requireRoleAt(request, device.site, commands.minRole);
      const command = await service.send(request.params.id, request.body, `token:${p.name}`);
      request.log.info({ audit: 'command.send', token: p.tokenId, device: command.device, command: command.id, name: command.name }, 'command sent');
      return reply.code(202).send(out(command));
    },
  );

  app.get(
    '/commands',
    {
      config: { siteScoped: true },
      schema: {
        tags: ['commands'],
        summary: 'List commands to devices of the caller\'s sites, newest first',
        querystring: z.object({ device: idSchema.optional(), status: z.enum(commandStatuses).optional(), ...pageQuery(config.maxListLimit) }),
        response: { 200: z.object({ items: z.array(commandOut), total: z.number().int() }), ...authErrors },
      },
    },
    async (request) => {
      const { device, status, limit, offset } = request.query;
      const visible = siteVisibility(request);
      // A site-limited caller's devices, pushed into the store query so pages and total count only them.
      const devices = request.principal?.sites === '*' ? undefined : directory.list().filter((d) => visible(d.site)).map((d) => d.id);
      const page = await service.list({ ...(device ? { device } : {}), ...(devices ? { devices } : {}), ...(status ? { status } : {}) }, { limit, offset });
      return { items: page.items.map(out), total: page.total };
    },
  );

  app.get(
    '/commands/:id',
    {
      config: { siteScoped: true },
      schema: {
        tags: ['commands'], summary: 'Get a command with its times', params: z.object({ id: z.string().min(1).max(64) }),
        response: { 200: commandOut, 404: errorSchema, ...authErrors },
      },
    },
    async (request) => {
      const command = await service.get(request.params.id);
      if (!command || !siteVisibility(request)(directory.get(command.device)?.site)) throw notFound(`command ${request.params.id}`);
      return out(command);
    },
  );
};

/** `GET /api/commands/stream`: every change of a command as SSE (`event: command`, data `{seq, ts, command}`), resumable from memory. */
export const commandStreamRoutes: FastifyPluginAsyncZod<RouteOptions & { commands: CommandsApiDeps }> = async (app, opts) => {
  const { service } = opts.commands;
  const { directory } = opts.deps;
  eventStreamRoute<CommandEvent>(app, opts, {
    what: `Command changes (the last ${EVENTS_KEPT} are replayed on resume)`,
    subscribe: (l) => service.subscribe(l),
    eventsSince: (seq, limit) => service.eventsSince(seq, limit),
    toJson: (e) => ({ seq: e.seq, ts: toIso(e.ts), command: out(e.command) }),
    // A deleted device's commands have no site any more: only whole-deployment callers see them.
    siteOf: (e) => directory.get(e.command.device)?.site,
  }, 'commands');
};
