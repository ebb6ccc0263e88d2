import { createReadStream } from 'node:fs';
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import type { BackupStaging } from '../../../../storage/index.js';
import { requireRole } from '../../../plugins/app/auth.js';
import { notFound } from '../../../plugins/app/errors.js';
import { authErrors, errorSchema } from '../../../schemas.js';
import type { RouteOptions } from '../../../types.js';

/**
 * Backups of the running node (admin only), for `anju backup DIR`: POST takes a consistent copy
 * (state, alarms, telemetry, the spool from the store's position on) without stopping ingest, the
 * client fetches each file the manifest lists and checks its SHA-256, then DELETEs the staged copy.
 * The copy is made under the node's data dir; no request names a path on the server.
 */
const manifestOut = z.object({
  id: z.string().describe('the staged backup; fetch its files, then DELETE it'),
  createdAt: z.string(),
  schemaVersion: z.number().int(),
  spoolCheckpoint: z.object({ segment: z.number().int(), offset: z.number().int() }).nullable(),
  files: z.array(z.object({ path: z.string(), bytes: z.number().int(), sha256: z.string() })),
}).meta({ id: 'Backup' });
const stagedParams = z.object({ id: z.string().regex(/^[0-9]{13}-[0-9a-f]{8}$/, 'a backup id') });

export const backupRoutes: FastifyPluginAsyncZod<RouteOptions & { backups: BackupStaging }> = async (app, { backups }) => {
  app.addHook('preHandler', requireRole('admin'));

  app.post(
    '/',
    {
      schema: {
        tags: ['backups'],
        summary: 'Take a backup of the running node (admin); answers its manifest',
        response: { 201: manifestOut, ...authErrors },
      },
    },
    async (request, reply) => {
      const started = Date.now();
      const { id, manifest } = await backups.create();
      const bytes = manifest.files.reduce((n, f) => n + f.bytes, 0);
      request.log.info({ audit: 'backup.created', backup: id, bytes, ms: Date.now() - started, by: request.principal?.tokenId }, 'backup taken');
      const { format: _f, version: _v, ...rest } = manifest;
      return reply.code(201).send({ id, ...rest });
    },
  );

  app.get(
    '/:id/files/*',
    {
      schema: {
        tags: ['backups'],
        summary: 'One file of a staged backup (admin), as the manifest lists it',
        params: stagedParams.extend({ '*': z.string() }),
        response: { 200: z.any().describe('the file (application/octet-stream)'), 404: errorSchema, ...authErrors },
      },
    },
    async (request, reply) => {
      const { id, '*': path } = request.params;
      const file = await backups.file(id, path);
      if (!file) throw notFound(`backup ${id} file ${path}`);
      return reply
        .type('application/octet-stream')
        .header('content-length', String(file.bytes))
        .header('x-anju-sha256', file.sha256)
        .send(createReadStream(file.fullPath));
    },
  );

  app.delete(
    '/:id',
    {
      schema: {
        tags: ['backups'],
        summary: 'Delete a staged backup (admin) once its files are fetched',
        params: stagedParams,
        response: { 204: z.undefined().describe('deleted'), 404: errorSchema, ...authErrors },
      },
    },
    async (request, reply) => {
      if (!(await backups.remove(request.params.id))) throw notFound(`backup ${request.params.id}`);
      return reply.code(204).send();
    },
  );
};
