import type {
  AlarmEventJson, AlarmJson, AlarmWithTimelineJson, IncidentEventJson, IncidentJson, IncidentWithTimelineJson, ProposalJson, TimelineEntryJson,
} from '../../core/alarms.js';
import type { Proposal } from '../../core/responses.js';
import { alarmEvidence, alarmSummary, incidentEvidence, incidentSummary, type TextOptions } from '../../core/alarm-text.js';
import type { Incident } from '../../storage/incidents/contract.js';
import type { Alarm, AlarmEvent, TimelineEntry } from '../contracts.js';
import type { NotificationEvent } from './contract.js';

export type { AlarmEventJson, AlarmJson, AlarmWithTimelineJson, IncidentEventJson, IncidentJson, IncidentWithTimelineJson, TimelineEntryJson } from '../../core/alarms.js';

/**
 * The JSON of alarms, incidents and their events outside the process (the shapes are
 * core/alarms.ts): REST, SSE, MQTT and webhooks all answer these. Times are ISO 8601 (DESIGN §3).
 * With `text` options they carry `summary` and `evidence` in the reader's language.
 */

const iso = (ms: number) => new Date(ms).toISOString();

export function timelineToJson(t: TimelineEntry): TimelineEntryJson {
  return {
    time: iso(t.ts), event: t.event,
    ...(t.actor !== undefined ? { actor: t.actor } : {}), ...(t.text !== undefined ? { text: t.text } : {}),
    ...(t.details !== undefined ? { details: { ...t.details } } : {}),
  };
}

/** Without the timeline, for lists and events (a timeline can be long; one alarm's GET carries it). */
export function alarmSummaryToJson(a: Alarm, text?: TextOptions): AlarmJson {
  return {
    id: a.id, type: a.type, originator: { kind: a.originator.kind, id: a.originator.id }, site: a.site, building: a.building,
    severity: a.severity, status: a.status, startTime: iso(a.startTs), lastUpdateTime: iso(a.lastUpdateTs),
    ...(a.ackTs !== undefined ? { ackTime: iso(a.ackTs) } : {}), ...(a.clearTs !== undefined ? { clearTime: iso(a.clearTs) } : {}),
    ...(a.assignee !== undefined ? { assignee: a.assignee } : {}),
    escalationLevel: a.escalationLevel, count: a.count, details: { ...a.details },
    ...(text ? { summary: alarmSummary(a, text), evidence: alarmEvidence(a, text) } : {}),
  };
}

export function alarmToJson(a: Alarm, text?: TextOptions): AlarmWithTimelineJson {
  return { ...alarmSummaryToJson(a, text), timeline: a.timeline.map(timelineToJson) };
}

/** Alarm events carry the alarm without its timeline: the event is the news, the timeline is one GET away. */
export function eventToJson(e: AlarmEvent, text?: TextOptions): AlarmEventJson {
  return {
    seq: e.seq, time: iso(e.ts), type: e.type,
    ...(e.previousSeverity ? { previousSeverity: e.previousSeverity } : {}),
    alarm: alarmSummaryToJson(e.alarm, text),
  };
}

export function proposalToJson(p: Proposal): ProposalJson {
  return {
    id: p.id, alarmId: p.alarmId, alarmType: p.alarmType, device: p.device, command: p.command, mode: p.mode, status: p.status,
    createdAt: iso(p.createdAt),
    ...(p.autoAt !== undefined ? { autoAt: iso(p.autoAt) } : {}),
    ...(p.interlock ? { interlock: { code: p.interlock.code, reason: p.interlock.reason, standard: p.interlock.standard } } : {}),
    ...(p.decidedAt !== undefined ? { decidedAt: iso(p.decidedAt) } : {}), ...(p.decidedBy !== undefined ? { decidedBy: p.decidedBy } : {}),
    ...(p.sentBy !== undefined ? { sentBy: p.sentBy } : {}),
    ...(p.reason !== undefined ? { reason: p.reason } : {}), ...(p.commandId !== undefined ? { commandId: p.commandId } : {}),
    ...(p.commandStatus !== undefined ? { commandStatus: p.commandStatus } : {}),
    ...(p.commandMessage !== undefined ? { commandMessage: p.commandMessage } : {}),
    ...(p.commandState !== undefined ? { commandState: p.commandState } : {}),
  };
}

export function incidentSummaryToJson(i: Incident, text?: TextOptions): IncidentJson {
  const textOf = text ? { ...text } : undefined;
  return {
    id: i.id, hazard: i.hazard, level: i.level, site: i.site, building: i.building, severity: i.severity, status: i.status,
    startTime: iso(i.startTs), lastUpdateTime: iso(i.lastUpdateTs),
    ...(i.ackTs !== undefined ? { ackTime: iso(i.ackTs) } : {}), ...(i.clearTs !== undefined ? { clearTime: iso(i.clearTs) } : {}),
    ...(i.assignee !== undefined ? { assignee: i.assignee } : {}),
    escalationLevel: i.escalationLevel,
    alarmIds: i.members.map((m) => m.id),
    alarms: i.members.map((m) => ({
      id: m.id, type: m.type, originator: { kind: m.originator.kind, id: m.originator.id }, severity: m.severity, status: m.status,
      startTime: iso(m.startTs), ...(m.clearTs !== undefined ? { clearTime: iso(m.clearTs) } : {}), details: { ...m.details },
      ...(textOf ? { summary: alarmSummary(m, textOf) } : {}),
    })),
    ...(textOf ? { summary: incidentSummary(i, textOf), evidence: incidentEvidence(i, textOf) } : {}),
    ...(i.proposals && i.proposals.length > 0 ? { proposals: i.proposals.map(proposalToJson) } : {}),
  };
}

export function incidentToJson(i: Incident, text?: TextOptions): IncidentWithTimelineJson {
  return { ...incidentSummaryToJson(i, text), timeline: i.timeline.map(timelineToJson) };
}

export function incidentEventToJson(e: NotificationEvent, text?: TextOptions): IncidentEventJson {
  return {
    seq: e.seq, time: iso(e.ts), type: e.type,
    ...(e.type !== 'reminder' && e.previousSeverity ? { previousSeverity: e.previousSeverity } : {}),
    ...(e.type !== 'reminder' && e.previousLevel ? { previousLevel: e.previousLevel } : {}),
    ...(e.type === 'reminder' ? { reminder: e.reminder } : {}),
    ...(e.type !== 'reminder' && e.alarm ? { alarm: alarmSummaryToJson(e.alarm, text) } : {}),
    ...(e.type !== 'reminder' && e.response ? { response: { ...e.response } } : {}),
    incident: incidentSummaryToJson(e.incident, text),
  };
}
