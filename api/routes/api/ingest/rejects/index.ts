import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { rejectReasons } from '../../../../../ingest/contracts.js';
import { authErrors, idSchemaLoose, isoTime, pageQuery, toIso } from '../../../../schemas.js';
import type { RouteOptions } from '../../../../types.js';

/**
 * The ingest dead-letter log (DESIGN §1: a refused message never disappears silently). Integrators
 * use it to see why their device's messages are dropped; `counts` are totals since start, including
 * refusals the bounded log no longer holds.
 */

const rejectSchema = z
  .object({
    at: isoTime,
    reason: z.enum(rejectReasons),
    topic: z.string(),
    device: z.string().optional(),
    source: z.string(),
    detail: z.string(),
    size: z.number().int(),
    sample: z.string().describe('the first bytes of the payload, control characters escaped'),
  })
  .meta({ id: 'Reject' });

export const rejectRoutes: FastifyPluginAsyncZod<RouteOptions> = async (app, { config, deps }) => {
  app.get(
    '/',
    {
      schema: {
        tags: ['ingest'],
        summary: 'Messages ingest refused, newest first, with totals by reason',
        querystring: z.object({
          reason: z.enum(rejectReasons).optional(),
          // Not the strict id rule: the point is to find what a misconfigured device sent.
          device: idSchemaLoose.optional(),
          ...pageQuery(config.maxListLimit),
        }),
        response: {
          200: z.object({ items: z.array(rejectSchema), total: z.number().int(), counts: z.record(z.enum(rejectReasons), z.number().int()) }),
          ...authErrors,
        },
      },
    },
    async (request) => {
      const page = deps.rejects.list(request.query);
      return {
        items: page.items.map((r) => ({ ...r, at: toIso(r.at) })),
        total: page.total,
        counts: deps.rejects.counts(),
      };
    },
  );
};
