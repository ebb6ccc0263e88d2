import type { AlarmEventJson, AlarmJson, AlarmWithTimelineJson, TimelineEntryJson } from '../../core/alarms.js';
import type { Alarm, TimelineEntry } from '../contracts.js';
import type { NotificationEvent } from './contract.js';

export type { AlarmEventJson, AlarmJson, AlarmWithTimelineJson, TimelineEntryJson } from '../../core/alarms.js';

/**
 * The JSON of an alarm and of an alarm event outside the process (the shapes are core/alarms.ts):
 * REST, SSE, MQTT and webhooks all answer this one shape. Times are ISO 8601 (DESIGN §3).
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
export function alarmSummaryToJson(a: Alarm): AlarmJson {
  return {
    id: a.id, type: a.type, originator: { kind: a.originator.kind, id: a.originator.id }, site: a.site, building: a.building,
    severity: a.severity, status: a.status, startTime: iso(a.startTs), lastUpdateTime: iso(a.lastUpdateTs),
    ...(a.ackTs !== undefined ? { ackTime: iso(a.ackTs) } : {}), ...(a.clearTs !== undefined ? { clearTime: iso(a.clearTs) } : {}),
    ...(a.assignee !== undefined ? { assignee: a.assignee } : {}),
    escalationLevel: a.escalationLevel, count: a.count, details: { ...a.details },
  };
}

export function alarmToJson(a: Alarm): AlarmWithTimelineJson {
  return { ...alarmSummaryToJson(a), timeline: a.timeline.map(timelineToJson) };
}

/** Events carry the alarm without its timeline: the event is the news, the timeline is one GET away. */
export function eventToJson(e: NotificationEvent): AlarmEventJson {
  return {
    seq: e.seq, time: iso(e.ts), type: e.type,
    ...(e.type !== 'reminder' && e.previousSeverity ? { previousSeverity: e.previousSeverity } : {}),
    ...(e.type === 'reminder' ? { reminder: e.reminder } : {}),
    alarm: alarmSummaryToJson(e.alarm),
  };
}
