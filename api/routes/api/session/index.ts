import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { ApiError } from '../../../plugins/app/errors.js';
import { authErrors, roleEnum } from '../../../schemas.js';
import type { RouteOptions } from '../../../types.js';

/**
 * `GET /api/session`: who the bearer token belongs to. The control room calls it to check a token
 * at log-in and to show only the actions the role may take (the routes enforce roles anyway).
 */

const sessionSchema = z
  .object({ tokenId: z.string(), name: z.string(), role: roleEnum.describe('admin > operator > maintenance > viewer') })
  .meta({ id: 'Session' });

export const sessionRoutes: FastifyPluginAsyncZod<RouteOptions> = async (app) => {
  app.get(
    '/',
    { schema: { tags: ['session'], summary: 'The caller: token name and role', response: { 200: sessionSchema, ...authErrors } } },
    async (request) => {
      const p = request.principal;
      if (!p) throw new ApiError(401, 'unauthorized', 'a bearer token is required');
      return { tokenId: p.tokenId, name: p.name, role: p.role };
    },
  );
};
