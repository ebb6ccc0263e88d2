import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import type { HealthReport } from '../../types.js';

const checkSchema = z.object({ status: z.enum(['ok', 'degraded', 'down']), detail: z.string().optional() });
export const healthSchema = z
  .object({ status: z.enum(['ok', 'degraded', 'down']), checks: z.record(z.string(), checkSchema) })
  .meta({ id: 'Health' });

/**
 * `GET /health`, the one route without a token (DESIGN §3): load balancers and orchestrators
 * probe it. Degraded still answers 200 — the process serves requests, e.g. reads while the spool
 * absorbs a store outage — so a probe does not restart a process that is coping.
 */
export const healthRoutes: FastifyPluginAsyncZod<{ health: () => Promise<HealthReport> }> = async (app, opts) => {
  app.get(
    '/',
    {
      config: { public: true },
      schema: {
        tags: ['system'],
        summary: 'Liveness and dependency health (no token needed)',
        security: [],
        response: { 200: healthSchema, 503: healthSchema },
      },
    },
    async (request, reply) => {
      let report: HealthReport;
      try {
        report = await opts.health();
      } catch (err) {
        // A health check that throws is itself the answer: down, without the reason on the wire.
        request.log.error({ err }, 'health check failed');
        report = { status: 'down', checks: { health: { status: 'down', detail: 'health check failed' } } };
      }
      return reply.code(report.status === 'down' ? 503 : 200).send(report);
    },
  );
};
