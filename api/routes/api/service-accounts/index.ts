import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { serviceAccountInputSchema } from '../../../../core/index.js';
import type { ServiceAccountDirectory, ServiceAccountRecord } from '../../../../storage/index.js';
import { serviceAccountOrigins } from '../../../../storage/index.js';
import { requireRole } from '../../../plugins/app/auth.js';
import { ApiError, notFound } from '../../../plugins/app/errors.js';
import { authErrors, errorSchema, idParams, isoTime, pageQuery, toIso } from '../../../schemas.js';
import type { RouteOptions } from '../../../types.js';

/**
 * MQTT service accounts (admin only, every route): integrations that are not devices — a BMS or
 * fire-panel gateway, a bridge, a conformance suite — each with its own publish, subscribe and
 * deny filters (deny wins). The secret is answered once, on creation and on rotation, and stored as
 * a scrypt hash. Every change is written to the log with `audit` and the acting token; deleting an
 * account or rotating its secret disconnects its live MQTT connections at once.
 */

const accountBase = z.object({
  id: z.string(),
  publish: z.array(z.string()),
  subscribe: z.array(z.string()),
  deny: z.array(z.string()),
  origin: z.enum(serviceAccountOrigins).describe('api: managed here; env: the ingest account, recreated from ANJU_INGEST_USER/_PASSWORD at every start'),
  createdAt: isoTime,
  secretSetAt: isoTime.describe('when the current secret was set'),
});
const accountSchema = accountBase.meta({ id: 'ServiceAccount' });
const accountWithSecretSchema = accountBase
  .extend({ secret: z.string().describe('the MQTT password (username = id): shown this once, stored only as a scrypt hash') })
  .meta({ id: 'NewServiceAccountSecret' });

const out = (a: ServiceAccountRecord) => ({
  id: a.id, publish: [...a.publish], subscribe: [...a.subscribe], deny: [...a.deny], origin: a.origin,
  createdAt: toIso(a.createdAt), secretSetAt: toIso(a.secretSetAt),
});

export const serviceAccountRoutes: FastifyPluginAsyncZod<RouteOptions & { serviceAccounts: ServiceAccountDirectory }> = async (app,
  { config, serviceAccounts }) => {
  app.addHook('preHandler', requireRole('admin'));
  const notFoundOr = { 404: errorSchema };

  /** Accounts from the environment are the environment's: changed here, they would come back at the next start. */
  const apiManaged = (id: string, action: string): ServiceAccountRecord => {
    const account = serviceAccounts.get(id);
    if (!account) throw notFound(`service account ${id}`);
    if (account.origin === 'env') throw new ApiError(409, 'conflict', `service account ${id} comes from ANJU_INGEST_USER/ANJU_INGEST_PASSWORD; ${action} it there and restart`);
    return account;
  };

  app.get(
    '/',
    {
      schema: {
        tags: ['service-accounts'],
        summary: 'List MQTT service accounts (admin); secrets are never shown again',
        querystring: z.object(pageQuery(config.maxListLimit)),
        response: { 200: z.object({ items: z.array(accountSchema), total: z.number().int() }), ...authErrors },
      },
    },
    async (request) => {
      const all = serviceAccounts.list();
      const { limit, offset } = request.query;
      return { items: all.slice(offset, offset + limit).map(out), total: all.length };
    },
  );

  app.get(
    '/:id',
    {
      schema: { tags: ['service-accounts'], summary: 'Get an MQTT service account (admin)', params: idParams, response: { 200: accountSchema, ...notFoundOr, ...authErrors } },
    },
    async (request) => {
      const account = serviceAccounts.get(request.params.id);
      if (!account) throw notFound(`service account ${request.params.id}`);
      return out(account);
    },
  );

  app.post(
    '/',
    {
      schema: {
        tags: ['service-accounts'],
        summary: 'Create an MQTT service account (admin); the answer carries its secret, shown this once',
        description: 'It connects with username = id and client id = id or `id:<suffix>`. Topic filters follow MQTT 3.1.1 §4.7 (`+`, `#`); '
          + '`$SYS/…` only when a filter names `$SYS` literally. A topic matching a deny filter is refused (publish) or withheld (delivery), '
          + 'whatever publish and subscribe allow; a subscription wholly inside a deny filter is refused (SUBACK 0x80).',
        body: serviceAccountInputSchema,
        response: { 201: accountWithSecretSchema, 409: errorSchema, ...authErrors },
      },
    },
    async (request, reply) => {
      const { account, secret } = await serviceAccounts.create(request.body);
      request.log.info({ audit: 'service_account.created', serviceAccount: account.id, publish: account.publish, subscribe: account.subscribe, deny: account.deny, by: request.principal?.tokenId }, 'service account created');
      return reply.code(201).send({ ...out(account), secret });
    },
  );

  app.post(
    '/:id/secret',
    {
      schema: {
        tags: ['service-accounts'],
        summary: 'Rotate a service account secret (admin); its live connections are closed, the new secret is shown this once',
        params: idParams,
        response: { 200: accountWithSecretSchema, ...notFoundOr, 409: errorSchema, ...authErrors },
      },
    },
    async (request) => {
      const { id } = request.params;
      apiManaged(id, 'change its password');
      const secret = await serviceAccounts.rotateSecret(id);
      const account = serviceAccounts.get(id);
      if (secret === undefined || !account) throw notFound(`service account ${id}`);
      request.log.info({ audit: 'service_account.secret_rotated', serviceAccount: id, by: request.principal?.tokenId }, 'service account secret rotated');
      return { ...out(account), secret };
    },
  );

  app.delete(
    '/:id',
    {
      schema: {
        tags: ['service-accounts'],
        summary: 'Delete a service account (admin); its live connections are closed',
        params: idParams,
        response: { 204: z.undefined().describe('deleted'), ...notFoundOr, 409: errorSchema, ...authErrors },
      },
    },
    async (request, reply) => {
      const { id } = request.params;
      apiManaged(id, 'unset');
      if (!(await serviceAccounts.delete(id))) throw notFound(`service account ${id}`);
      request.log.info({ audit: 'service_account.deleted', serviceAccount: id, by: request.principal?.tokenId }, 'service account deleted');
      return reply.code(204).send();
    },
  );
};
