import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { notFound } from '../../../plugins/app/errors.js';
import { authErrors, errorSchema, idParams, pageQuery, withoutNulls } from '../../../schemas.js';
import type { RouteOptions } from '../../../types.js';

/** Sites (residential communities) and their buildings, read-only (any role). */

const siteSchema = z
  .object({ id: z.string(), name: z.string(), address: z.string().optional(), timezone: z.string().describe('IANA zone of the site') })
  .meta({ id: 'Site' });
const buildingSchema = z
  .object({ id: z.string(), site: z.string(), name: z.string(), floors: z.number().int().optional() })
  .meta({ id: 'Building' });

export const siteRoutes: FastifyPluginAsyncZod<RouteOptions> = async (app, { config, deps }) => {
  const { state } = deps;

  app.get(
    '/',
    {
      schema: {
        tags: ['sites'],
        summary: 'List sites',
        querystring: z.object(pageQuery(config.maxListLimit)),
        response: { 200: z.object({ items: z.array(siteSchema), total: z.number().int() }), ...authErrors },
      },
    },
    async (request) => {
      const page = await state.listSites(request.query);
      return { items: page.items.map(withoutNulls), total: page.total };
    },
  );

  app.get(
    '/:id/buildings',
    {
      schema: {
        tags: ['sites'],
        summary: 'List the buildings of a site',
        params: idParams,
        querystring: z.object(pageQuery(config.maxListLimit)),
        response: { 200: z.object({ items: z.array(buildingSchema), total: z.number().int() }), 404: errorSchema, ...authErrors },
      },
    },
    async (request) => {
      const { id } = request.params;
      if (!(await state.getSite(id))) throw notFound(`site ${id}`);
      const page = await state.listBuildings(id, request.query);
      return { items: page.items.map(withoutNulls), total: page.total };
    },
  );
};
