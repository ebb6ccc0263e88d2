import type { FastifyReply, FastifyRequest } from 'fastify';
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { baselineModelChoices, timeInputSchema, type AnyReport } from '../../../../reports/contracts.js';
import { defaultLang, renderReport, reportFormats, reportLangs } from '../../../../reports/render/index.js';
import { storedReportKinds } from '../../../../storage/index.js';
import { ApiError, notFound } from '../../../plugins/app/errors.js';
import { canSeeSite, siteFilter, siteVisibility } from '../../../plugins/app/scope.js';
import { authErrors, errorSchema, idParams, isoTime, pageQuery, toIso } from '../../../schemas.js';
import type { ReportsApiDeps, RouteOptions } from '../../../types.js';

/**
 * Green-building reports (any role may read):
 * - `GET /api/reports/savings|waste|fire-safety?site&from&to[&baselineFrom&baselineTo]&format&lang`
 *   computes a report now and answers it as JSON (the data model, ISO instants), CSV (one table per
 *   section, UTF-8 with BOM, as a download) or printable HTML (zh-CN by default, or en).
 * - `GET /api/reports` lists the stored (scheduled monthly) reports, newest period first;
 *   `GET /api/reports/{id}?format&lang` renders one.
 *
 * Times are epoch ms, ISO 8601 with a zone, or a local date `YYYY-MM-DD` (local midnight in the
 * site's zone); `to` is exclusive. A ReportError from the calculations is answered by the error
 * handler by its category: 400 invalid_params / empty_range / baseline_overlap / range_too_long,
 * 404 unknown_site, 422 no_data.
 *
 * Site scope: every report is about one site; a caller gets reports of their own sites only (another
 * site answers 404 `unknown_site` at the step an unregistered one does, see reports/index.ts
 * ReportScope; another site's stored report 404 `not_found`), and the list holds only theirs.
 */

const siteScoped = { siteScoped: true };
const scopeOf = (request: FastifyRequest) => ({ siteVisible: siteVisibility(request) });

export interface ReportRouteOptions extends RouteOptions {
  readonly reports: ReportsApiDeps;
}

const time = (what: string) => timeInputSchema.describe(`${what}: epoch ms, ISO 8601 with a zone, or a local date YYYY-MM-DD (local midnight at the site)`);

const outputQuery = {
  format: z.enum(reportFormats).default('json').describe('json (the data model), csv (one table per section) or html (printable, with charts)'),
  lang: z.enum(reportLangs).default(defaultLang).describe('language of the HTML report'),
};

const periodQuery = {
  site: z.string().min(1).max(64).describe('site id'),
  from: time('start of the reporting period (inclusive)'),
  to: time('end of the reporting period (exclusive)'),
  ...outputQuery,
};

const rendered = {
  description: 'The report: JSON, CSV (UTF-8 with BOM) or HTML, per `format`',
  content: {
    'application/json': { schema: z.looseObject({ type: z.string() }) },
    'text/csv': { schema: z.string() },
    'text/html': { schema: z.string() },
  },
};

const reportErrors = { 404: errorSchema, 422: errorSchema, ...authErrors };

function send(reply: FastifyReply, report: AnyReport, format: (typeof reportFormats)[number], lang: (typeof reportLangs)[number]) {
  const out = renderReport(report, format, { lang });
  const disposition = format === 'csv' ? 'attachment' : 'inline';
  return reply.type(out.contentType).header('content-disposition', `${disposition}; filename="${out.filename}"`).send(out.body);
}

const storedMeta = z
  .object({
    id: z.string(),
    kind: z.enum(storedReportKinds),
    site: z.string(),
    from: isoTime,
    to: isoTime,
    baselineFrom: isoTime.optional(),
    baselineTo: isoTime.optional(),
    createdAt: isoTime,
    origin: z.enum(['schedule', 'manual']),
  })
  .meta({ id: 'StoredReport' });

const savingsQuery = z.object({
  ...periodQuery,
  baselineFrom: time('start of the baseline period'),
  baselineTo: time('end of the baseline period (exclusive); must not overlap the reporting period'),
  confidence: z.coerce.number().pipe(z.union([z.literal(68), z.literal(80), z.literal(90), z.literal(95)])).optional().describe('confidence of the stated uncertainty, % (default 90)'),
  model: z.enum(baselineModelChoices).optional(),
});

const temperaturesSchema = z.array(z.object({ date: z.iso.date(), temperature: z.number().min(-60).max(60) })).min(1).max(5000);

/** `date,temperature` lines (°C); a header line and blank lines are allowed. Errors name the line. */
export function parseTemperatureCsv(text: string): z.infer<typeof temperaturesSchema> {
  const rows: Array<{ date: string; temperature: number }> = [];
  const lines = text.replace(/^\uFEFF/, '').split(/\r?\n/);
  lines.forEach((line, i) => {
    const cells = line.split(',').map((c) => c.trim().replace(/^"|"$/g, ''));
    if (cells.length === 1 && cells[0] === '') return;
    if (i === 0 && !/^\d{4}-\d{2}-\d{2}$/.test(cells[0] ?? '')) return; // header
    const [date, value] = cells;
    const temperature = Number(value);
    if (cells.length !== 2 || !date || value === '' || !Number.isFinite(temperature)) {
      throw new ApiError(400, 'invalid_csv', `line ${i + 1}: expected "YYYY-MM-DD,temperature °C", got "${line.slice(0, 60)}"`);
    }
    rows.push({ date, temperature });
  });
  const parsed = temperaturesSchema.safeParse(rows);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    const row = typeof issue?.path[0] === 'number' ? ` (data row ${issue.path[0] + 1})` : '';
    throw new ApiError(400, 'invalid_csv', `temperatures${row}: ${issue?.message ?? 'invalid'}`);
  }
  return parsed.data;
}

export const reportRoutes: FastifyPluginAsyncZod<ReportRouteOptions> = async (app, { config, reports }) => {
  const { generate, store } = reports;

  app.get(
    '/savings',
    {
      config: siteScoped,
      schema: {
        tags: ['reports'],
        summary: 'Energy and water savings against a baseline (IPMVP Option C), with cost and CO₂ avoided',
        querystring: savingsQuery,
        response: { 200: rendered, ...reportErrors },
      },
    },
    async (request, reply) => {
      const { format, lang, ...params } = request.query;
      const report = await generate.savings(params, scopeOf(request));
      return send(reply, report, format, lang);
    },
  );

  // Outdoor temperatures for sites without a weather station: the same report, with a body of
  // daily temperatures as CSV (`date,temperature` per line, °C, a header line allowed) or JSON
  // (`{"temperatures": [{"date": "2026-01-01", "temperature": 4.5}]}`).
  app.addContentTypeParser('text/csv', { parseAs: 'string', bodyLimit: 512 * 1024 }, (_req, body, done) => done(null, body));
  app.post(
    '/savings',
    {
      config: siteScoped,
      schema: {
        tags: ['reports'],
        summary: 'Savings with uploaded daily outdoor temperatures (CSV or JSON body) for degree-day baselines',
        querystring: savingsQuery,
        body: z.union([z.string(), z.object({ temperatures: temperaturesSchema })]),
        response: { 200: rendered, ...reportErrors },
      },
    },
    async (request, reply) => {
      const { format, lang, ...params } = request.query;
      const temperatures = typeof request.body === 'string' ? parseTemperatureCsv(request.body) : request.body.temperatures;
      const report = await generate.savings({ ...params, temperatures }, scopeOf(request));
      return send(reply, report, format, lang);
    },
  );

  app.get(
    '/waste',
    {
      config: siteScoped,
      schema: {
        tags: ['reports'],
        summary: 'Waste collections, fill at collection, overflows and shares by sorting category, against the previous period',
        querystring: z.object(periodQuery),
        response: { 200: rendered, ...reportErrors },
      },
    },
    async (request, reply) => {
      const { format, lang, ...params } = request.query;
      const report = await generate.waste(params, scopeOf(request));
      return send(reply, report, format, lang);
    },
  );

  app.get(
    '/fire-safety',
    {
      config: siteScoped,
      schema: {
        tags: ['reports'],
        summary: 'Fire alarms by type and severity, response times, nuisance and test activations, offline detectors, batteries to replace',
        querystring: z.object(periodQuery),
        response: { 200: rendered, ...reportErrors },
      },
    },
    async (request, reply) => {
      const { format, lang, ...params } = request.query;
      const report = await generate.fireSafety(params, scopeOf(request));
      return send(reply, report, format, lang);
    },
  );

  app.get(
    '/',
    {
      config: siteScoped,
      schema: {
        tags: ['reports'],
        summary: 'List stored reports (the scheduled monthly ones), newest period first',
        querystring: z.object({ ...pageQuery(config.maxListLimit), site: z.string().min(1).max(64).optional(), kind: z.enum(storedReportKinds).optional() }),
        response: { 200: z.object({ items: z.array(storedMeta), total: z.number().int() }), ...authErrors },
      },
    },
    async (request) => {
      const page = await store.list({ ...request.query, ...siteFilter(request, request.query.site) });
      return {
        items: page.items.map((m) => ({
          id: m.id, kind: m.kind, site: m.site, from: toIso(m.from), to: toIso(m.to),
          ...(m.baselineFrom !== undefined ? { baselineFrom: toIso(m.baselineFrom) } : {}),
          ...(m.baselineTo !== undefined ? { baselineTo: toIso(m.baselineTo) } : {}),
          createdAt: toIso(m.createdAt), origin: m.origin,
        })),
        total: page.total,
      };
    },
  );

  app.get(
    '/:id',
    {
      config: siteScoped,
      schema: {
        tags: ['reports'],
        summary: 'A stored report, rendered as JSON, CSV or HTML',
        params: idParams,
        querystring: z.object(outputQuery),
        response: { 200: rendered, 404: errorSchema, ...authErrors },
      },
    },
    async (request, reply) => {
      const stored = await store.get(request.params.id);
      if (!stored || !canSeeSite(request, stored.site)) throw notFound(`report ${request.params.id}`);
      const report = stored.data as AnyReport;
      return send(reply, { ...report, id: report.id ?? stored.id }, request.query.format, request.query.lang);
    },
  );
};
