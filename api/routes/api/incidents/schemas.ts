import { z } from 'zod';
import { alarmStatuses, hazards, incidentLevels, severities } from '../../../../core/alarms.js';
import { commandNames, commandStatuses } from '../../../../core/commands.js';
import { proposalStatuses, responseModes } from '../../../../core/responses.js';
import type { IncidentQuery } from '../../../../storage/incidents/contract.js';
import { isoTime, pageQuery } from '../../../schemas.js';
import { resolveAssignee } from '../../../services/people.js';
import { langQuery } from '../../../services/text.js';
import { listOf, timelineEntry, workedFields } from '../alerts/schemas.js';

const member = z.object({
  id: z.string(), type: z.string(), originator: z.object({ kind: z.enum(['device', 'building']), id: z.string() }),
  severity: z.enum(severities), status: z.enum(alarmStatuses), startTime: isoTime, clearTime: isoTime.optional(),
  details: z.record(z.string(), z.unknown()), summary: z.string().optional(),
});

/** A proposal of the site's response policy (core/responses.ts), as incidents, their events and webhooks carry it. */
export const proposalSchema = z.object({
  id: z.string(),
  alarmId: z.string().describe('the alarm whose rule proposed it'),
  alarmType: z.string(),
  device: z.string().describe('the device the command goes to (the alarm\'s own)'),
  command: z.enum(commandNames),
  mode: z.enum(responseModes).describe('propose: waits for a person; auto_after: carried out at `autoAt` unless confirmed or rejected before'),
  autoAt: isoTime.optional(),
  interlock: z.object({ code: z.string(), reason: z.string(), standard: z.string() }).optional()
    .describe('why it is never carried out automatically (a circuit feeding an elevator, fire pump, smoke extraction or emergency lighting)'),
  status: z.enum(proposalStatuses).describe('proposed → confirmed (by a person) | performed (automatically) | rejected | withdrawn (the incident cleared first)'),
  createdAt: isoTime,
  decidedAt: isoTime.optional(),
  decidedBy: z.string().optional().describe('who confirmed or rejected it; `auto:response` when carried out automatically'),
  sentBy: z.string().optional().describe('who the command was sent as: `token:<name>`, or `auto:response`'),
  reason: z.string().optional(),
  commandId: z.string().optional().describe('the command sent for it: GET /api/commands/{id}'),
  commandStatus: z.enum(commandStatuses).optional(),
  commandMessage: z.string().optional(),
  commandState: z.string().optional().describe('what the device reported after it, e.g. `closed`'),
}).meta({ id: 'Proposal' });

const incidentBase = z.object({
  id: z.string(),
  hazard: z.enum(hazards),
  level: z.enum(incidentLevels).describe('pre_alarm 预警 (one fire signal, to verify), fire 火警 (two independent signals, GB 50116-2013 §4.1.6), alarm (other hazards)'),
  ...workedFields,
  alarmIds: z.array(z.string()).describe('every alarm that joined it, in the order they joined'),
  alarms: z.array(member),
  summary: z.string().optional().describe('in the language asked for (`lang`, Accept-Language; default zh-CN)'),
  evidence: z.array(z.string()).optional().describe('one line per alarm: what, which device (name and location), values with units'),
  proposals: z.array(proposalSchema).optional().describe('what the site\'s response policy proposes to do about it, oldest first'),
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
    assignee: z.string().trim().min(1).max(128).optional()
      .describe('assigned to this account id (or free text, exactly); `me`: the person logged in ("my incidents"; 422 no_account for an API token)'),
    ...langQuery,
    ...pageQuery(maxLimit),
  });
}
export type IncidentFilter = z.infer<ReturnType<typeof incidentFilterQuery>>;

/** `principal`: who asks, for `assignee=me` (api/services/people.ts resolveAssignee). */
export function toIncidentQuery(q: IncidentFilter, principal: { tokenId: string } | null = null): IncidentQuery {
  const assignee = resolveAssignee(q.assignee, principal);
  return {
    ...(assignee !== undefined ? { assignee } : {}),
    limit: q.limit, offset: q.offset,
    ...(q.status ? { status: q.status } : {}), ...(q.severity ? { severity: q.severity } : {}),
    ...(q.hazard ? { hazard: q.hazard } : {}), ...(q.level ? { level: q.level } : {}),
    ...(q.site ? { site: q.site } : {}), ...(q.building ? { building: q.building } : {}), ...(q.alarm ? { alarmId: q.alarm } : {}),
  };
}

export const incidentParams = z.object({ id: z.string().regex(/^[A-Za-z0-9._:-]{1,128}$/, 'not an incident id') });
