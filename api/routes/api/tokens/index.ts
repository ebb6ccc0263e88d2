import { randomUUID } from 'node:crypto';
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { generateToken, hashToken } from '../../../../core/secrets.js';
import { createSerialQueue } from '../../../../core/util/index.js';
import { requireRole } from '../../../plugins/app/auth.js';
import { ApiError, notFound } from '../../../plugins/app/errors.js';
import { authErrors, errorSchema, idParams, isoTime, roleEnum, toIso } from '../../../schemas.js';
import type { RouteOptions } from '../../../types.js';

/**
 * API tokens (admin only, every route). A token is shown once, when created; the state store keeps
 * only its SHA-256 digest (core/secrets), so a lost token is replaced, never recovered.
 */

const tokenBase = z.object({ id: z.string(), name: z.string(), role: roleEnum, createdAt: isoTime });
const tokenSchema = tokenBase.meta({ id: 'ApiToken' });
const newTokenSchema = tokenBase
  .extend({ token: z.string().describe('send as Authorization: Bearer <token>') })
  .meta({ id: 'NewApiToken' });

export const tokenRoutes: FastifyPluginAsyncZod<RouteOptions> = async (app, { deps }) => {
  const { state } = deps;
  const now = deps.now ?? Date.now;
  app.addHook('preHandler', requireRole('admin'));

  app.get(
    '/',
    {
      schema: {
        tags: ['tokens'],
        summary: 'List API tokens (admin); the tokens themselves are never shown again',
        response: { 200: z.object({ items: z.array(tokenSchema), total: z.number().int() }), ...authErrors },
      },
    },
    async () => {
      const tokens = await state.listTokens();
      return { items: tokens.map((t) => ({ id: t.id, name: t.name, role: t.role, createdAt: toIso(t.createdAt) })), total: tokens.length };
    },
  );

  app.post(
    '/',
    {
      schema: {
        tags: ['tokens'],
        summary: 'Create an API token (admin); the answer carries the token, shown this once',
        body: z.object({ name: z.string().trim().min(1).max(100), role: roleEnum }).strict(),
        response: { 201: newTokenSchema, ...authErrors },
      },
    },
    async (request, reply) => {
      const token = generateToken();
      const record = { id: randomUUID(), name: request.body.name, role: request.body.role, createdAt: now() };
      await state.createToken(record, hashToken(token));
      request.log.info({ token: record.id, name: record.name, role: record.role, by: request.principal?.tokenId }, 'api token created');
      return reply.code(201).send({ ...record, createdAt: toIso(record.createdAt), token });
    },
  );

  // One revocation at a time: side by side, two revocations of the last two admin tokens each counted
  // two and both went through, locking everyone out of token and device management.
  const revocations = createSerialQueue();

  app.delete(
    '/:id',
    {
      schema: {
        tags: ['tokens'],
        summary: 'Revoke an API token (admin); the last admin token cannot be revoked',
        params: idParams,
        response: { 204: z.undefined().describe('revoked'), 404: errorSchema, 409: errorSchema, ...authErrors },
      },
    },
    async (request, reply) => revocations.run(async () => {
      const { id } = request.params;
      const tokens = await state.listTokens();
      const target = tokens.find((t) => t.id === id);
      if (!target) throw notFound(`token ${id}`);
      // Revoking the last admin token would lock everyone out of token and device management.
      if (target.role === 'admin' && tokens.filter((t) => t.role === 'admin').length === 1) {
        throw new ApiError(409, 'conflict', 'this is the last admin token; create another admin token first');
      }
      if (!(await state.deleteToken(id))) throw notFound(`token ${id}`);
      app.auth.invalidate();
      request.log.info({ token: id, by: request.principal?.tokenId }, 'api token revoked');
      return reply.code(204).send();
    }),
  );
};
