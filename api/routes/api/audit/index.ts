import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { auditQuerySchema, type StoredAuditEntry } from '../../../../core/index.js';
import type { AuditStore } from '../../../../storage/index.js';
import { requireRole } from '../../../plugins/app/auth.js';
import { authErrors, isoTime, pageQuery, toIso } from '../../../schemas.js';
import type { RouteOptions } from '../../../types.js';
import { csvField } from '../alerts/export.js';

/**
 * The audit trail (admin): who changed what, from where, when — newest first, filtered by actor,
 * action and time, as JSON pages or as CSV (`?format=csv`, UTF-8 with a BOM so Excel reads the
 * Chinese names) for an auditor. Written by the audit hook (api/plugins/app/audit.ts).
 */

const entrySchema = z
  .object({
    seq: z.number().int(),
    at: isoTime,
    actor: z.string().describe('account id of a person, or API token id of an integration'),
    actorName: z.string(),
    role: z.string(),
    action: z.string().describe('e.g. alarm.ack, alarm.assign, alarm.comment, alarm.clear, rule.change, token.create, account.create'),
    target: z.string().optional(),
    ip: z.string(),
    method: z.string(),
    path: z.string(),
    status: z.number().int(),
  })
  .meta({ id: 'AuditEntry' });

const csvColumns = ['at', 'actor', 'actor_name', 'role', 'action', 'target', 'ip', 'method', 'path', 'status'] as const;

const out = ({ ts, ...e }: StoredAuditEntry) => ({ ...e, at: toIso(ts) });

/** The most rows one CSV export holds; narrow by time for more. */
const maxCsvRows = 100_000;

export const auditRoutes: FastifyPluginAsyncZod<RouteOptions & { audit: AuditStore }> = async (app, { config, audit }) => {
  app.addHook('preHandler', requireRole('admin'));
  app.get(
    '/',
    {
      schema: {
        tags: ['audit'],
        summary: 'The audit trail (admin): changes made through the API, newest first; `format=csv` to export',
        querystring: z.intersection(auditQuerySchema, z.object({ ...pageQuery(config.maxListLimit), format: z.enum(['json', 'csv']).default('json') })),
        response: {
          200: z.object({ items: z.array(entrySchema), total: z.number().int() }).or(z.string().describe('CSV, one entry per row, UTF-8 with BOM')),
          ...authErrors,
        },
      },
    },
    async (request, reply) => {
      const { limit, offset, format, ...filter } = request.query;
      if (format === 'json') {
        const page = await audit.query({ ...filter, limit, offset });
        return { items: page.items.map(out), total: page.total };
      }
      const lines = [csvColumns.join(',')];
      for (let at = offset; lines.length - 1 < maxCsvRows; ) {
        const page = await audit.query({ ...filter, limit: 1_000, offset: at });
        for (const e of page.items) lines.push([toIso(e.ts), e.actor, e.actorName, e.role, e.action, e.target, e.ip, e.method, e.path, e.status].map(csvField).join(','));
        at += page.items.length;
        if (page.items.length < 1_000) break;
      }
      const day = new Date().toISOString().slice(0, 10);
      return reply.type('text/csv; charset=utf-8').header('content-disposition', `attachment; filename="anju-audit-${day}.csv"`).send(`\uFEFF${lines.join('\r\n')}\r\n`);
    },
  );
};
