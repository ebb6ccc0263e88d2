import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { gridRegions, sitePatchSchema } from '../../../../core/index.js';
import { notFound } from '../../../plugins/app/errors.js';
import { assertSiteVisible, requireRoleAt, requireRoleSomewhere } from '../../../plugins/app/scope.js';
import { authErrors, errorSchema, idParams, pageQuery, withoutNulls } from '../../../schemas.js';
import type { RouteOptions } from '../../../types.js';

/**
 * Sites (residential communities) and their buildings: read by any role; a site's name, address,
 * time zone and grid region changed by an admin (`PATCH /api/sites/{id}`; `gridRegion: null` unsets
 * the region, and savings reports then use the national CO₂ factor). A caller sees only their own
 * sites (another is 404, as a missing one) and changes one only as its admin.
 */

const siteSchema = z
  .object({
    id: z.string(), name: z.string(), address: z.string().optional(), timezone: z.string().describe('IANA zone of the site'),
    gridRegion: z.enum(gridRegions).optional().describe('the regional power grid the site draws from (its MEE/NBS CO₂ factor is used in savings reports)'),
  })
  .meta({ id: 'Site' });
const buildingSchema = z
  .object({ id: z.string(), site: z.string(), name: z.string(), floors: z.number().int().optional() })
  .meta({ id: 'Building' });

export const siteRoutes: FastifyPluginAsyncZod<RouteOptions> = async (app, { config, deps }) => {
  const { state } = deps;

  app.get(
    '/',
    {
      config: { siteScoped: true },
      schema: {
        tags: ['sites'],
        summary: 'List the caller\'s sites',
        querystring: z.object(pageQuery(config.maxListLimit)),
        response: { 200: z.object({ items: z.array(siteSchema), total: z.number().int() }), ...authErrors },
      },
    },
    async (request) => {
      const sites = request.principal?.sites ?? '*';
      const page = await state.listSites({ ...request.query, ...(sites === '*' ? {} : { ids: [...sites] }) });
      return { items: page.items.map(withoutNulls), total: page.total };
    },
  );

  app.patch(
    '/:id',
    {
      preHandler: requireRoleSomewhere('admin'),
      config: { siteScoped: true },
      schema: {
        tags: ['sites'],
        summary: 'Change a site (admin): name, address, time zone, grid region',
        params: idParams,
        body: sitePatchSchema,
        response: { 200: siteSchema, 404: errorSchema, ...authErrors },
      },
    },
    async (request) => {
      const { id } = request.params;
      assertSiteVisible(request, id, `site ${id}`);
      requireRoleAt(request, id, 'admin');
      const updated = await state.updateSite(id, request.body);
      if (!updated) throw notFound(`site ${id}`);
      request.log.info({ site: id, fields: Object.keys(request.body), by: request.principal?.tokenId }, 'site changed');
      return withoutNulls(updated);
    },
  );

  app.get(
    '/:id/buildings',
    {
      config: { siteScoped: true },
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
      assertSiteVisible(request, id, `site ${id}`);
      if (!(await state.getSite(id))) throw notFound(`site ${id}`);
      const page = await state.listBuildings(id, request.query);
      return { items: page.items.map(withoutNulls), total: page.total };
    },
  );
};
