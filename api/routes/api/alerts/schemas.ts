import { z } from 'zod';
import { alarmStatuses, severities, type AlarmQuery } from '../../../../alerts/contracts.js';
import { isoTime, pageQuery } from '../../../schemas.js';
import { langQuery } from '../../../services/text.js';
import type { AlertsApiDeps, RouteOptions } from '../../../types.js';

/** Options of the alert route plugins: the usual ones plus the alerts part (present when registered). */
export interface AlertRouteOptions extends RouteOptions {
  readonly alerts: AlertsApiDeps;
}

const timelineEntry = z.object({
  time: isoTime,
  event: z.string(),
  actor: z.string().optional(),
  text: z.string().optional(),
  details: z.record(z.string(), z.unknown()).optional(),
});

/** What alarms and incidents share: where, how bad, where in their lifecycle. */
export const workedFields = {
  site: z.string(),
  building: z.string(),
  severity: z.enum(severities),
  status: z.enum(alarmStatuses),
  startTime: isoTime,
  lastUpdateTime: isoTime,
  ackTime: isoTime.optional(),
  clearTime: isoTime.optional(),
  assignee: z.string().optional(),
  escalationLevel: z.number().int(),
};

const alarmBase = z.object({
  id: z.string(),
  type: z.string(),
  originator: z.object({ kind: z.enum(['device', 'building']), id: z.string() }),
  ...workedFields,
  count: z.number().int(),
  details: z.record(z.string(), z.unknown()).describe('the values that triggered it, as of the latest repeat'),
  summary: z.string().optional().describe('what, where and how much, in the language asked for (`lang`, Accept-Language; default zh-CN)'),
  evidence: z.array(z.string()).optional().describe('one line per value, with its unit and the device by name and location'),
});
/** In lists (no timeline: one alarm's GET has it). */
export const alarmSummarySchema = alarmBase.meta({ id: 'AlarmSummary' });
export const alarmSchema = alarmBase.extend({ timeline: z.array(timelineEntry) }).meta({ id: 'Alarm' });

/** `a,b` or a repeated parameter, each value one of `values`. */
export function listOf<T extends string>(values: readonly [T, ...T[]], what: string) {
  return z
    .union([z.string(), z.array(z.string())])
    .describe(`one or more of ${values.join(', ')}, comma-separated`)
    .transform((v, ctx) => {
      const parts = (Array.isArray(v) ? v : [v]).flatMap((s) => s.split(',')).map((s) => s.trim()).filter(Boolean);
      const bad = parts.filter((p) => !(values as readonly string[]).includes(p));
      if (bad.length) {
        ctx.addIssue({ code: 'custom', message: `unknown ${what} ${bad.map((b) => JSON.stringify(b)).join(', ')}; expected ${values.join(', ')}` });
        return z.NEVER;
      }
      return parts as T[];
    });
}

const name = z.string().min(1).max(64);
export function alarmFilterQuery(maxLimit: number) {
  return z.object({
    status: listOf(alarmStatuses, 'status').optional(),
    severity: listOf(severities, 'severity').optional(),
    type: name.optional(),
    site: name.optional(),
    building: name.optional(),
    originator: name.optional().describe('device id, or building id'),
    ...langQuery,
    ...pageQuery(maxLimit),
  });
}
export type AlarmFilter = z.infer<ReturnType<typeof alarmFilterQuery>>;

export function toAlarmQuery(q: AlarmFilter): AlarmQuery {
  return {
    limit: q.limit, offset: q.offset,
    ...(q.status ? { status: q.status } : {}), ...(q.severity ? { severity: q.severity } : {}),
    ...(q.type ? { type: q.type } : {}), ...(q.site ? { site: q.site } : {}), ...(q.building ? { building: q.building } : {}),
    ...(q.originator ? { originatorId: q.originator } : {}),
  };
}

/** Alarm ids are UUIDs; this bounds what reaches the store without assuming their format. */
export const alarmParams = z.object({ id: z.string().regex(/^[A-Za-z0-9._:-]{1,128}$/, 'not an alarm id') });
export { timelineEntry };

