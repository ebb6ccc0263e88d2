import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { binCategories, kindOf } from '../../../../core/index.js';
import { aggregates } from '../../../../storage/contract.js';
import { ApiError, notFound, validationFailed } from '../../../plugins/app/errors.js';
import { canSeeSite } from '../../../plugins/app/scope.js';
import { authErrors, errorSchema, idParams, isoTime, kindEnum, toIso } from '../../../schemas.js';
import { durationQuery, instantQuery } from '../../../time.js';
import type { RouteOptions } from '../../../types.js';

/**
 * A device's readings: `/api/devices/{id}/latest` from the in-memory latest cache (dashboards
 * poll it), `/api/devices/{id}/telemetry` from the TelemetryStore (raw or bucketed history).
 * Another site's device answers as a missing one (api/plugins/app/scope.ts).
 */

const DAY = 86_400_000;
const fieldValue = z.union([z.number(), z.boolean()]);

const latestSchema = z
  .object({
    device: z.string(),
    kind: kindEnum,
    site: z.string(),
    building: z.string(),
    category: z.enum(binCategories).optional(),
    ts: isoTime,
    seq: z.number().int().optional(),
    fields: z.record(z.string(), fieldValue),
  })
  .meta({ id: 'LatestReading' });

const seriesSchema = z
  .object({
    device: z.string(),
    kind: kindEnum,
    from: isoTime,
    to: isoTime.describe('exclusive'),
    every: z.number().int().optional().describe('bucket width in ms, when aggregated'),
    agg: z.enum(aggregates).optional(),
    items: z.array(z.object({ ts: isoTime.describe('reading time, or bucket start'), values: z.record(z.string(), fieldValue.nullable()) })),
    total: z.number().int().describe('number of items in this answer'),
    truncated: z.boolean().describe('raw mode: more readings exist in the window than `limit`; narrow the window or page by time'),
    completeFrom: isoTime.optional().describe(
      'present when retention (ANJU_RETENTION_RAW_DAYS) has deleted raw readings this window reaches: the answer is complete only from this time. '
      + 'Buckets of whole hours (every a multiple of 3600000) read the hourly aggregates, which are kept, and never carry this',
    ),
  })
  .meta({ id: 'Series' });

export const telemetryRoutes: FastifyPluginAsyncZod<RouteOptions> = async (app, { config, deps }) => {
  const { directory, latest, telemetry } = deps;
  const now = deps.now ?? Date.now;

  app.get(
    '/:id/latest',
    {
      config: { siteScoped: true },
      schema: {
        tags: ['telemetry'],
        summary: 'The latest reading of a device',
        description: '404 `not_found` for an unknown device, 404 `no_data` for a device that never reported.',
        params: idParams,
        response: { 200: latestSchema, 404: errorSchema, ...authErrors },
      },
    },
    async (request) => {
      const { id } = request.params;
      const device = directory.get(id);
      if (!device || !canSeeSite(request, device.site)) throw notFound(`device ${id}`);
      const r = latest.get(id);
      if (!r) throw new ApiError(404, 'no_data', `device ${id} has not reported yet`);
      return {
        device: r.device, kind: r.kind, site: r.site, building: r.building,
        ...(r.category ? { category: r.category } : {}),
        ts: toIso(r.ts),
        ...(r.seq !== undefined && r.seq !== null ? { seq: r.seq } : {}),
        fields: { ...r.fields },
      };
    },
  );

  app.get(
    '/:id/telemetry',
    {
      config: { siteScoped: true },
      schema: {
        tags: ['telemetry'],
        summary: 'Readings of a device in a window, raw or aggregated per bucket',
        description:
          'Window [from, to), default the last 24 h. With `every`, one point per bucket (aligned to the epoch, like InfluxQL ' +
          '`GROUP BY time()`), `agg` (default mean) applied to every field; booleans count as 0/1; a state-code field ' +
          '(`valve`, `switch`) answers `mean` and `sum` with its last state in the bucket, since an average of codes names no state. ' +
          `At most ${config.maxPoints} points per answer (400 \`too_many_points\`) and a window of ${config.maxWindowDays} days.`,
        params: idParams,
        querystring: z.object({
          from: instantQuery.optional(),
          to: instantQuery.optional(),
          every: durationQuery.optional(),
          agg: z.enum(aggregates).optional(),
          fields: z.string().max(1_000).optional().describe("comma-separated field names of the device's kind; default all"),
          limit: z.coerce.number().int().min(1).max(config.maxPoints).default(Math.min(1_000, config.maxPoints)).describe('raw mode: most readings answered, oldest first'),
        }),
        response: { 200: seriesSchema, 404: errorSchema, ...authErrors },
      },
    },
    async (request) => {
      const { id } = request.params;
      const q = request.query;
      const device = directory.get(id);
      if (!device || !canSeeSite(request, device.site)) throw notFound(`device ${id}`);

      const to = q.to ?? now();
      const from = q.from ?? to - DAY;
      if (from >= to) throw validationFailed([{ in: 'querystring', path: 'from', message: 'from must be before to' }]);
      if (to - from > config.maxWindowDays * DAY) {
        throw new ApiError(400, 'window_too_large', `the window is at most ${config.maxWindowDays} days; split the query`);
      }
      if (q.agg !== undefined && q.every === undefined) {
        throw validationFailed([{ in: 'querystring', path: 'agg', message: 'agg needs every (the bucket width)' }]);
      }
      if (q.every !== undefined) {
        // +1: a window not aligned to the epoch touches one more bucket than its width suggests.
        const buckets = Math.ceil((to - from) / q.every) + 1;
        if (buckets > config.maxPoints) {
          const minEvery = Math.ceil((to - from) / (config.maxPoints - 1) / 1000);
          throw new ApiError(400, 'too_many_points', `${buckets} buckets exceed the limit of ${config.maxPoints}; use every=${minEvery}s or more, or a narrower window`);
        }
      }

      const spec = kindOf(device.kind);
      let fields: string[] | undefined;
      if (q.fields !== undefined) {
        fields = [...new Set(q.fields.split(',').map((f) => f.trim()).filter(Boolean))];
        const unknown = fields.filter((f) => !Object.prototype.hasOwnProperty.call(spec.fields, f));
        if (unknown.length > 0 || fields.length === 0) {
          const known = Object.keys(spec.fields).join(', ');
          throw validationFailed(
            (unknown.length > 0 ? unknown : ['']).map((f) => ({ in: 'querystring', path: 'fields', message: `unknown field "${f}" for ${device.kind}; known: ${known}` })),
          );
        }
      }

      const agg = q.every !== undefined ? (q.agg ?? 'mean') : undefined;
      const limit = q.every === undefined ? q.limit : undefined;
      const query = {
        kind: device.kind, device: id, from, to,
        ...(q.every !== undefined ? { every: q.every, agg } : {}),
        ...(fields ? { fields } : {}),
        // One more than asked, to tell the caller whether the window holds more.
        ...(limit !== undefined ? { limit: limit + 1 } : {}),
      };
      const points = await telemetry.series(query);
      const completeFrom = telemetry.completeFrom?.(query);
      const truncated = limit !== undefined && points.length > limit;
      const items = (truncated ? points.slice(0, limit) : points).map((p) => ({ ts: toIso(p.ts), values: { ...p.values } }));
      return {
        device: id, kind: device.kind, from: toIso(from), to: toIso(to),
        ...(q.every !== undefined ? { every: q.every, agg } : {}),
        items, total: items.length, truncated,
        ...(completeFrom !== undefined ? { completeFrom: toIso(completeFrom) } : {}),
      };
    },
  );
};
