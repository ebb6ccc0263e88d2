import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import type { Alarm } from '../../../../alerts/contracts.js';
import { alarmTypeZh } from '../../../../alerts/index.js';
import { alarmSummary, type TextOptions } from '../../../../core/alarm-text.js';
import { siteFilter } from '../../../plugins/app/scope.js';
import { authErrors } from '../../../schemas.js';
import { createTextResolver, requestLang } from '../../../services/text.js';
import { alarmFilterQuery, toAlarmQuery, type AlertRouteOptions } from './schemas.js';

/**
 * CSV export of the filtered alarm list: `/api/alerts.csv` (and `/api/alerts/export.csv`, for
 * tools that dislike a dot in a path segment). RFC 4180: CRLF rows, fields with a comma, quote or
 * line break quoted, quotes doubled. A UTF-8 BOM first, or Excel on a Chinese Windows reads the
 * file as GBK and the 类型 column becomes mojibake. Text a person typed (assignee) is guarded
 * against formula injection (a cell starting with = + - @ runs as a formula in Excel: OWASP).
 * `limit`/`offset` page the export like the list; without a limit, everything up to `maxExportRows`.
 * The last column is the alarm in words (`lang`, Accept-Language, else Chinese) with device names.
 */

const columns = [
  'id', 'type', 'type_zh', 'severity', 'status', 'site', 'building', 'originator_kind', 'originator_id',
  'start_time', 'last_update_time', 'ack_time', 'clear_time', 'assignee', 'escalation_level', 'count', 'details', 'summary',
] as const;

export function csvField(value: unknown): string {
  if (value === undefined || value === null) return '';
  let s = typeof value === 'string' ? value : typeof value === 'object' ? JSON.stringify(value) : String(value);
  if (typeof value === 'string' && /^[=+\-@\t\r]/.test(s)) s = `'${s}`;
  return /[",\r\n]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
}

const iso = (ms: number | undefined) => (ms === undefined ? undefined : new Date(ms).toISOString());

function row(a: Alarm, text: TextOptions): string {
  const cells: unknown[] = [
    a.id, a.type, alarmTypeZh[a.type] ?? a.type, a.severity, a.status, a.site, a.building, a.originator.kind, a.originator.id,
    iso(a.startTs), iso(a.lastUpdateTs), iso(a.ackTs), iso(a.clearTs), a.assignee, a.escalationLevel, a.count, a.details, alarmSummary(a, text),
  ];
  return cells.map(csvField).join(',');
}

export const alertExportRoutes: FastifyPluginAsyncZod<AlertRouteOptions> = async (app, { config, deps, alerts }) => {
  const maxRows = config.alerts.maxExportRows;
  const texts = createTextResolver({ state: deps.state, directory: deps.directory, ...(deps.now ? { now: deps.now } : {}) });
  // The list's filters; the page size may go up to the export cap.
  const querystring = alarmFilterQuery(maxRows).partial({ limit: true });

  for (const url of ['/alerts.csv', '/alerts/export.csv']) {
    app.get(
      url,
      {
        config: { siteScoped: true },
        schema: {
          tags: ['alerts'],
          summary: 'Export the filtered alarm list as CSV (UTF-8 with BOM, opens in Excel)',
          querystring,
          response: {
            200: { description: 'CSV, one alarm per row, UTF-8 with BOM', content: { 'text/csv': { schema: z.string() } } },
            ...authErrors,
          },
        },
      },
      async (request, reply) => {
        const { limit, ...filter } = request.query;
        const want = Math.min(limit ?? maxRows, maxRows);
        const lines = [columns.join(',')];
        const base = { ...toAlarmQuery({ ...filter, limit: 1 }), ...siteFilter(request, filter.site) };
        for (let offset = filter.offset; lines.length - 1 < want; ) {
          const pageSize = Math.min(1_000, want - (lines.length - 1));
          const page = await alerts.engine.list({ ...base, limit: pageSize, offset });
          const text = await texts.forSites(requestLang(request, filter.lang), page.items.map((a) => a.site));
          for (const a of page.items) lines.push(row(a, text(a.site)));
          offset += page.items.length;
          if (page.items.length < pageSize) break;
        }
        const day = new Date().toISOString().slice(0, 10);
        return reply
          .type('text/csv; charset=utf-8')
          .header('content-disposition', `attachment; filename="anju-alerts-${day}.csv"`)
          .send(`\uFEFF${lines.join('\r\n')}\r\n`);
      },
    );
  }
};
