import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { requireRole } from '../../../plugins/app/auth.js';
import { ApiError } from '../../../plugins/app/errors.js';
import { authErrors, errorSchema, isoTime, toIso } from '../../../schemas.js';
import type { DemoApiDeps, RouteOptions } from '../../../types.js';

/**
 * The demo fleet (`anju all` with ANJU_SIM on): play a scenario — a kitchen fire in building 3, a
 * burst pipe, a silent detector — on the simulated devices that are running, so the control room
 * can be shown an alarm without a credentials file. Admin only: it makes devices report fires.
 */

const playBody = z.object({
  scenario: z.string().min(3).max(100).describe('kind:target@+offset, e.g. fire:b3 or pipe-burst:chundu-b2-wm-301@+1m'),
}).strict();

const played = z.object({
  scenario: z.string(),
  startsAt: isoTime,
  devices: z.number().int().describe('demo devices the scenario bends'),
}).meta({ id: 'PlayedScenario' });

export const demoRoutes: FastifyPluginAsyncZod<RouteOptions & { demo: DemoApiDeps }> = async (app, { demo }) => {
  app.addHook('preHandler', requireRole('admin'));
  app.post(
    '/scenarios',
    {
      schema: {
        tags: ['demo'],
        summary: 'Play a scenario on the running demo fleet (admin), e.g. {"scenario": "fire:b3"}',
        body: playBody,
        response: { 202: played, ...authErrors, 404: errorSchema },
      },
    },
    async (request, reply) => {
      let result: { name: string; startsAt: number; devices: number };
      try {
        result = demo.play(request.body.scenario);
      } catch (err) {
        throw new ApiError(400, 'invalid_scenario', (err as Error).message);
      }
      if (result.devices === 0) {
        throw new ApiError(404, 'no_matching_devices', `"${request.body.scenario}" targets none of the demo's devices (targets are a building such as b3, or a device id)`);
      }
      return reply.code(202).send({ scenario: result.name, startsAt: toIso(result.startsAt), devices: result.devices });
    },
  );
};
