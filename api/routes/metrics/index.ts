import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import type { Registry } from 'prom-client';
import { z } from 'zod';
import { authErrors } from '../../schemas.js';

/**
 * `GET /metrics`: Prometheus text exposition of the process registry. It needs a token like
 * everything else (any role); Prometheus sends one with `authorization: {type: Bearer,
 * credentials: ...}` in the scrape config.
 */
export const metricsRoutes: FastifyPluginAsyncZod<{ metrics: Registry }> = async (app, opts) => {
  app.get(
    '/',
    {
      schema: {
        tags: ['system'],
        summary: 'Prometheus metrics (text exposition format)',
        // Declared per content type for the OpenAPI description; fastify sends a string body with a
        // non-JSON content type as it is, so the JSON serializer never touches it.
        response: {
          200: { description: 'Prometheus text exposition format 0.0.4', content: { 'text/plain': { schema: z.string() } } },
          ...authErrors,
        },
      },
    },
    async (_request, reply) => {
      const text = await opts.metrics.metrics();
      return reply.type(opts.metrics.contentType).send(text);
    },
  );
};
