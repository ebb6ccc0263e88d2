import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { checkKindAttributes, deviceInputSchema, devicePatchSchema, idSchema, type Device } from '../../../../core/index.js';
import { ApiError, notFound, validationFailed } from '../../../plugins/app/errors.js';
import { canSeeSite, requireRoleAt, requireRoleSomewhere, siteFilter } from '../../../plugins/app/scope.js';
import {
  authErrors, deviceOutSchema, errorSchema, idParams, kindEnum, pageQuery, provisionedDeviceSchema, toDeviceOut, withoutNulls,
} from '../../../schemas.js';
import type { RouteOptions } from '../../../types.js';

/**
 * The device registry: `/api/devices` and `/api/devices/{id}`. Reads are open to every role;
 * provisioning, changes, deletion and secret rotation are admin-only (they hand out or revoke
 * MQTT credentials). Writes go through the DeviceDirectory, so ingest sees them at once.
 * Site scope: a caller sees the devices of their sites (another site's device is 404, as a missing
 * one), and needs admin at the device's site — at both sites when a change moves it.
 */

const adminOnly = requireRoleSomewhere('admin');
const siteScoped = { siteScoped: true };

// checkKindAttributes is a zod refinement; running it on the merged device re-checks a PATCH
// (e.g. rated_current on a device that is not a power meter) with core's own rules and messages.
const mergedDeviceCheck = z.record(z.string(), z.unknown()).superRefine((d, ctx) => checkKindAttributes(d, ctx));

export const deviceRoutes: FastifyPluginAsyncZod<RouteOptions> = async (app, { config, deps }) => {
  const { directory, state, latest } = deps;
  const device404 = { 404: errorSchema };
  // A missing device is left to the directory's own 404; another site's answers the same.
  const adminAtDeviceSite = (request: Parameters<typeof canSeeSite>[0], id: string) => {
    const device = directory.get(id);
    if (!device) return;
    if (!canSeeSite(request, device.site)) throw notFound(`device ${id}`);
    requireRoleAt(request, device.site, 'admin');
  };

  app.get(
    '/',
    {
      config: siteScoped,
      schema: {
        tags: ['devices'],
        summary: 'List the devices of the caller\'s sites',
        querystring: z.object({ site: idSchema.optional(), building: idSchema.optional(), kind: kindEnum.optional(), ...pageQuery(config.maxListLimit) }),
        response: { 200: z.object({ items: z.array(deviceOutSchema), total: z.number().int() }), ...authErrors },
      },
    },
    async (request) => {
      const page = await state.listDevices({ ...request.query, ...siteFilter(request, request.query.site) });
      return { items: page.items.map(toDeviceOut), total: page.total };
    },
  );

  app.post(
    '/',
    {
      preHandler: adminOnly,
      config: siteScoped,
      schema: {
        tags: ['devices'],
        summary: 'Provision a device (admin); the answer carries its MQTT secret, shown this once',
        description: 'An unknown site or building is registered (by the device directory) with its id as its name.',
        body: deviceInputSchema,
        response: { 201: provisionedDeviceSchema, 409: errorSchema, ...authErrors },
      },
    },
    async (request, reply) => {
      const input = request.body;
      requireRoleAt(request, input.site, 'admin');
      // Device and service account ids are one namespace across every site (each is an MQTT username), so
      // a taken id must be refused; the answer says only that, never whose it is or at which site.
      if (directory.get(input.id) || deps.serviceAccounts?.get(input.id)) {
        throw new ApiError(409, 'conflict', `id ${input.id} is taken (device and service account ids are unique across the deployment, being MQTT usernames): choose another`);
      }
      const { device, secret } = await directory.create(input);
      request.log.info({ device: device.id, kind: device.kind, by: request.principal?.tokenId }, 'device provisioned');
      return reply.code(201).send({ ...toDeviceOut(device), secret });
    },
  );

  app.get(
    '/:id',
    {
      config: siteScoped,
      schema: {
        tags: ['devices'],
        summary: 'Get a device',
        params: idParams,
        response: { 200: deviceOutSchema, ...device404, ...authErrors },
      },
    },
    async (request) => {
      const device = directory.get(request.params.id);
      if (!device || !canSeeSite(request, device.site)) throw notFound(`device ${request.params.id}`);
      return toDeviceOut(device);
    },
  );

  app.patch(
    '/:id',
    {
      preHandler: adminOnly,
      config: siteScoped,
      schema: {
        tags: ['devices'],
        summary: 'Change a device (admin); id and kind are fixed',
        params: idParams,
        body: devicePatchSchema,
        response: { 200: deviceOutSchema, ...device404, ...authErrors },
      },
    },
    async (request) => {
      const { id } = request.params;
      const current = directory.get(id);
      if (!current || !canSeeSite(request, current.site)) throw notFound(`device ${id}`);
      requireRoleAt(request, current.site, 'admin');
      if (request.body.site !== undefined) requireRoleAt(request, request.body.site, 'admin');
      const merged = { ...withoutNulls(current), ...request.body };
      const check = mergedDeviceCheck.safeParse(merged);
      if (!check.success) {
        throw validationFailed(check.error.issues.map((i) => ({ in: 'body', path: i.path.join('.'), message: i.message })));
      }
      const updated: Device | undefined = await directory.update(id, request.body);
      if (!updated) throw notFound(`device ${id}`);
      request.log.info({ device: id, fields: Object.keys(request.body), by: request.principal?.tokenId }, 'device changed');
      return toDeviceOut(updated);
    },
  );

  app.delete(
    '/:id',
    {
      preHandler: adminOnly,
      config: siteScoped,
      schema: {
        tags: ['devices'],
        summary: 'Delete a device (admin); its MQTT credentials stop working, its history stays in the store',
        params: idParams,
        response: { 204: z.undefined().describe('deleted'), ...device404, ...authErrors },
      },
    },
    async (request, reply) => {
      const { id } = request.params;
      adminAtDeviceSite(request, id);
      if (!(await directory.delete(id))) throw notFound(`device ${id}`);
      latest.forget(id);
      request.log.info({ device: id, by: request.principal?.tokenId }, 'device deleted');
      return reply.code(204).send();
    },
  );

  app.post(
    '/:id/secret',
    {
      preHandler: adminOnly,
      config: siteScoped,
      schema: {
        tags: ['devices'],
        summary: 'Rotate a device secret (admin); the new secret is shown this once, the old one stops working',
        params: idParams,
        response: { 200: z.object({ id: z.string(), secret: z.string() }), ...device404, ...authErrors },
      },
    },
    async (request) => {
      const { id } = request.params;
      adminAtDeviceSite(request, id);
      const secret = await directory.rotateSecret(id);
      if (secret === undefined) throw notFound(`device ${id}`);
      request.log.info({ device: id, by: request.principal?.tokenId }, 'device secret rotated');
      return { id, secret };
    },
  );
};
