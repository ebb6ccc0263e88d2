import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { siteConsumptionSchema, siteOverviewSchema, type Building, type SiteOverviewJson } from '../../../../core/index.js';
import { addDays, HOUR_MS, localDate, localMidnight, siteHourlyUse, type HourlyRegisterQuery, type HourlyUse } from '../../../../reports/index.js';
import { notFound, validationFailed } from '../../../plugins/app/errors.js';
import { assertSiteVisible } from '../../../plugins/app/scope.js';
import { authErrors, errorSchema, idParams, toIso } from '../../../schemas.js';
import { buildSiteOverview } from '../../../services/site-overview.js';
import type { RouteOptions } from '../../../types.js';

/**
 * What the control room's screens read for one site (any role with a grant there; another site is
 * 404, as a missing one):
 * - `GET /api/sites/{id}/overview`: buildings coloured by their worst active alarm, devices online /
 *   offline, bins by fill and category — from memory, cheap enough to ask again on every alarm event.
 * - `GET /api/sites/{id}/consumption?date`: energy and water per local hour of a day against the same
 *   weekday a week earlier (reports/hourly.ts), each day's hours cached briefly (1 min for today).
 */

// Round-trips, so 2025-02-30 is refused rather than read as 2 March.
const dateText = z.string().regex(/^\d{4}-\d{2}-\d{2}$/, 'expected a local date, YYYY-MM-DD')
  .refine((d) => { const t = Date.parse(`${d}T00:00:00Z`); return !Number.isNaN(t) && new Date(t).toISOString().slice(0, 10) === d; }, 'not a calendar date');

// Hourly use is re-read at most this often: every screen showing "today" shares one store read a
// minute, and a past day (the comparison) changes only when late data arrives.
const TODAY_TTL_MS = 60_000;
const PAST_TTL_MS = 15 * 60_000;
const MAX_CACHED_DAYS = 256;
// A wall of control-room screens re-reads the overview after every alarm event: within this long,
// they share one computed answer — unless an alarm event came since (then it is computed afresh,
// so a screen never repaints an alarm away). Bin fill and connectivity may be this much behind.
const OVERVIEW_TTL_MS = 1_000;
// One answer per (site, bins): a bound against a caller cycling through `bins` values.
const MAX_CACHED_OVERVIEWS = 256;

export const siteViewRoutes: FastifyPluginAsyncZod<RouteOptions> = async (app, { deps }) => {
  const { state, directory, latest, telemetry } = deps;
  const now = deps.now ?? Date.now;
  const hourly = new Map<string, { until: number; use: Promise<HourlyUse> }>();
  let alarmVersion = 0;
  // Cluster: every node's alarms (the shared log's view); otherwise this node's engine.
  const cluster = deps.alerts?.activeAlarms;
  const unsubscribe = cluster ? cluster.subscribe(() => { alarmVersion += 1; }) : deps.alerts?.engine.subscribe(() => { alarmVersion += 1; });
  app.addHook('onClose', async () => unsubscribe?.());
  const overviews = new Map<string, { version: number; until: number; body: string }>();

  function cachedHourlyUse(kind: 'power_meter' | 'water_meter', q: HourlyRegisterQuery, isToday: boolean): Promise<HourlyUse> {
    const key = `${q.site}|${kind}|${q.date}`;
    const t = now();
    const hit = hourly.get(key);
    if (hit && hit.until > t) return hit.use;
    if (hourly.size >= MAX_CACHED_DAYS) for (const [k, v] of hourly) if (v.until <= t || hourly.size >= MAX_CACHED_DAYS) hourly.delete(k);
    const use = siteHourlyUse(telemetry, directory.list(), kind, q);
    hourly.set(key, { until: t + (isToday ? TODAY_TTL_MS : PAST_TTL_MS), use });
    // A failed read is not remembered: the next request tries the store again (its own entry only:
    // one made since, after this one expired, is another read's).
    use.catch(() => {
      if (hourly.get(key)?.use === use) hourly.delete(key);
    });
    return use;
  }

  async function site(request: Parameters<typeof assertSiteVisible>[0], id: string) {
    assertSiteVisible(request, id, `site ${id}`);
    const s = await state.getSite(id);
    if (!s) throw notFound(`site ${id}`);
    return s;
  }

  async function allBuildings(id: string): Promise<Building[]> {
    const out: Building[] = [];
    for (let offset = 0; ; offset += 500) {
      const page = await state.listBuildings(id, { limit: 500, offset });
      out.push(...page.items);
      if (out.length >= page.total || page.items.length === 0) return out;
    }
  }

  app.get(
    '/:id/overview',
    {
      config: { siteScoped: true },
      schema: {
        tags: ['sites'],
        summary: 'Control-room overview of a site: worst alarm per building, devices online/offline, bins by fill',
        params: idParams,
        querystring: z.object({ bins: z.coerce.number().int().min(0).max(1000).default(100).describe('most bins listed, fullest first') }),
        response: { 200: siteOverviewSchema, 404: errorSchema, ...authErrors },
      },
    },
    async (request, reply) => {
      // Before the shared cache: a cached answer must not reach a caller who does not see the site.
      assertSiteVisible(request, request.params.id, `site ${request.params.id}`);
      const key = `${request.params.id}|${request.query.bins}`;
      const t = now();
      let hit = overviews.get(key);
      if (!hit || hit.version !== alarmVersion || hit.until <= t) {
        const version = alarmVersion;
        const s = await site(request, request.params.id);
        const buildingList = await allBuildings(s.id);
        // The alarms and the seq they include in one synchronous read.
        const asOf = cluster?.asOf() ?? deps.alerts?.engine.activeAsOf() ?? { alarms: [], seq: 0 };
        const o = buildSiteOverview({
          site: s, buildings: buildingList, devices: directory.list(), latest,
          activeAlarms: asOf.alarms, alarmSeq: asOf.seq, now: t, binLimit: request.query.bins,
        });
        const answer: SiteOverviewJson = { ...o, generatedAt: toIso(o.generatedAt),
          bins: o.bins.map((b) => ({ ...b, ts: b.ts === null ? null : toIso(b.ts) })) };
        hit = { version, until: t + OVERVIEW_TTL_MS, body: JSON.stringify(answer) };
        if (overviews.size >= MAX_CACHED_OVERVIEWS) overviews.clear();
        overviews.set(key, hit);
      }
      // Sent as the JSON text it is (typed against the schema above when built): shared, not re-serialised.
      return reply.type('application/json; charset=utf-8').send(hit.body as unknown as SiteOverviewJson);
    },
  );

  app.get(
    '/:id/consumption',
    {
      config: { siteScoped: true },
      schema: {
        tags: ['sites'],
        summary: 'Energy and water per hour of a day against the same weekday a week earlier',
        params: idParams,
        querystring: z.object({ date: dateText.optional().describe('local date in the site zone; default today') }),
        response: { 200: siteConsumptionSchema, 404: errorSchema, ...authErrors },
      },
    },
    async (request) => {
      const s = await site(request, request.params.id);
      const t = now();
      const todayDate = localDate(t, s.timezone);
      const date = request.query.date ?? todayDate;
      if (date > todayDate) throw validationFailed([{ in: 'querystring', path: 'date', message: `${date} has not begun in ${s.timezone} (today is ${todayDate})` }]);
      const compareDate = addDays(date, -7);
      const dayStart = localMidnight(date, s.timezone);
      // How far into `date` we are: the compare day is summed over its completed hours and the current
      // hour pro rata, for a fair "so far today" (today's current hour is only partly measured too).
      const elapsed = Math.max(0, Math.min(t, localMidnight(addDays(date, 1), s.timezone)) - dayStart);
      const fullHours = Math.floor(elapsed / HOUR_MS);
      const partOfHour = (elapsed - fullHours * HOUR_MS) / HOUR_MS;
      const both = async (kind: 'power_meter' | 'water_meter', unit: 'kWh' | 'm³') => {
        const isToday = date === todayDate;
        const [today, compare] = await Promise.all([
          cachedHourlyUse(kind, { site: s.id, timezone: s.timezone, date, until: t }, isToday),
          cachedHourlyUse(kind, { site: s.id, timezone: s.timezone, date: compareDate, until: t }, false),
        ]);
        return {
          unit, today: today.hours, compare: compare.hours, totalToday: today.total,
          totalCompareSameHours: compare.hours.slice(0, fullHours).reduce<number>((a, u) => a + (u ?? 0), 0) + (compare.hours[fullHours] ?? 0) * partOfHour,
          totalCompare: compare.total, meters: today.meters,
        };
      };
      const [energy, water] = await Promise.all([both('power_meter', 'kWh'), both('water_meter', 'm³')]);
      const hours = energy.today.map((_, h) => String(h).padStart(2, '0'));
      return { site: s.id, timezone: s.timezone, date, compareDate, hours, energy: energy as typeof energy & { unit: 'kWh' }, water: water as typeof water & { unit: 'm³' } };
    },
  );
};
