import { z } from 'zod';
import { alarmStatuses, hazards, incidentLevels, severities } from '../../../../core/alarms.js';
import type { IncidentQuery } from '../../../../storage/incidents/contract.js';
import { isoTime, pageQuery } from '../../../schemas.js';
import { langQuery } from '../../../services/text.js';
import { listOf, timelineEntry, workedFields } from '../alerts/schemas.js';

const member = z.object({
  id: z.string(), type: z.string(), originator: z.object({ kind: z.enum(['device', 'building']), id: z.string() }),
  severity: z.enum(severities), status: z.enum(alarmStatuses), startTime: isoTime, clearTime: isoTime.optional(),
  details: z.record(z.string(), z.unknown()), summary: z.string().optional(),
});

const incidentBase = z.object({
  id: z.string(),
  hazard: z.enum(hazards),
  level: z.enum(incidentLevels).describe('pre_alarm 预警 (one fire signal, to verify), fire 火警 (two independent signals, GB 50116-2013 §4.1.6), alarm (other hazards)'),
  ...workedFields,
  alarmIds: z.array(z.string()).describe('every alarm that joined it, in the order they joined'),
  alarms: z.array(member),
  summary: z.string().optional().describe('in the language asked for (`lang`, Accept-Language; default zh-CN)'),
  evidence: z.array(z.string()).optional().describe('one line per alarm: what, which device (name and location), values with units'),
});
export const incidentSummarySchema = incidentBase.meta({ id: 'IncidentSummary' });
export const incidentSchema = incidentBase.extend({ timeline: z.array(timelineEntry) }).meta({ id: 'Incident' });

const name = z.string().min(1).max(64);
export function incidentFilterQuery(maxLimit: number) {
  return z.object({
    status: listOf(alarmStatuses, 'status').optional(),
    severity: listOf(severities, 'severity').optional(),
    hazard: listOf(hazards, 'hazard').optional(),
    level: listOf(incidentLevels, 'level').optional(),
    site: name.optional(),
    building: name.optional(),
    alarm: z.string().regex(/^[A-Za-z0-9._:-]{1,128}$/, 'not an alarm id').optional().describe('the incident holding this alarm'),
    ...langQuery,
    ...pageQuery(maxLimit),
  });
}
export type IncidentFilter = z.infer<ReturnType<typeof incidentFilterQuery>>;

export function toIncidentQuery(q: IncidentFilter): IncidentQuery {
  return {
    limit: q.limit, offset: q.offset,
    ...(q.status ? { status: q.status } : {}), ...(q.severity ? { severity: q.severity } : {}),
    ...(q.hazard ? { hazard: q.hazard } : {}), ...(q.level ? { level: q.level } : {}),
    ...(q.site ? { site: q.site } : {}), ...(q.building ? { building: q.building } : {}), ...(q.alarm ? { alarmId: q.alarm } : {}),
  };
}

export const incidentParams = z.object({ id: z.string().regex(/^[A-Za-z0-9._:-]{1,128}$/, 'not an incident id') });
