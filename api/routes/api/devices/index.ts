import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { checkKindAttributes, deviceInputSchema, devicePatchSchema, idSchema, type Device } from '../../../../core/index.js';
import { requireRole } from '../../../plugins/app/auth.js';
import { ApiError, notFound, validationFailed } from '../../../plugins/app/errors.js';
import {
  authErrors, deviceOutSchema, errorSchema, idParams, kindEnum, pageQuery, provisionedDeviceSchema, toDeviceOut, withoutNulls,
} from '../../../schemas.js';
import type { RouteOptions } from '../../../types.js';

/**
 * The device registry: `/api/devices` and `/api/devices/{id}`. Reads are open to every role;
 * provisioning, changes, deletion and secret rotation are admin-only (they hand out or revoke
 * MQTT credentials). Writes go through the DeviceDirectory, so ingest sees them at once.
 */

const adminOnly = requireRole('admin');

// checkKindAttributes is a zod refinement; running it on the merged device re-checks a PATCH
// (e.g. rated_current on a device that is not a power meter) with core's own rules and messages.
const mergedDeviceCheck = z.record(z.string(), z.unknown()).superRefine((d, ctx) => checkKindAttributes(d, ctx));

export const deviceRoutes: FastifyPluginAsyncZod<RouteOptions> = async (app, { config, deps }) => {
  const { directory, state, latest } = deps;
  const device404 = { 404: errorSchema };

  app.get(
    '/',
    {
      schema: {
        tags: ['devices'],
        summary: 'List devices',
        querystring: z.object({ site: idSchema.optional(), building: idSchema.optional(), kind: kindEnum.optional(), ...pageQuery(config.maxListLimit) }),
        response: { 200: z.object({ items: z.array(deviceOutSchema), total: z.number().int() }), ...authErrors },
      },
    },
    async (request) => {
      const page = await state.listDevices(request.query);
      return { items: page.items.map(toDeviceOut), total: page.total };
    },
  );

  app.post(
    '/',
    {
      preHandler: adminOnly,
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
      if (directory.get(input.id)) throw new ApiError(409, 'conflict', `device ${input.id} already exists`);
      // The MQTT username names one principal: a device cannot take a service account's id.
      if (deps.serviceAccounts?.get(input.id)) throw new ApiError(409, 'conflict', `${input.id} is a service account; a device needs an id of its own`);
      const { device, secret } = await directory.create(input);
      request.log.info({ device: device.id, kind: device.kind, by: request.principal?.tokenId }, 'device provisioned');
      return reply.code(201).send({ ...toDeviceOut(device), secret });
    },
  );

  app.get(
    '/:id',
    {
      schema: {
        tags: ['devices'],
        summary: 'Get a device',
        params: idParams,
        response: { 200: deviceOutSchema, ...device404, ...authErrors },
      },
    },
    async (request) => {
      const device = directory.get(request.params.id);
      if (!device) throw notFound(`device ${request.params.id}`);
      return toDeviceOut(device);
    },
  );

  app.patch(
    '/:id',
    {
      preHandler: adminOnly,
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
      if (!current) throw notFound(`device ${id}`);
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
      schema: {
        tags: ['devices'],
        summary: 'Delete a device (admin); its MQTT credentials stop working, its history stays in the store',
        params: idParams,
        response: { 204: z.undefined().describe('deleted'), ...device404, ...authErrors },
      },
    },
    async (request, reply) => {
      const { id } = request.params;
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
      schema: {
        tags: ['devices'],
        summary: 'Rotate a device secret (admin); the new secret is shown this once, the old one stops working',
        params: idParams,
        response: { 200: z.object({ id: z.string(), secret: z.string() }), ...device404, ...authErrors },
      },
    },
    async (request) => {
      const { id } = request.params;
      const secret = await directory.rotateSecret(id);
      if (secret === undefined) throw notFound(`device ${id}`);
      request.log.info({ device: id, by: request.principal?.tokenId }, 'device secret rotated');
      return { id, secret };
    },
  );
};
