/**
 * The alarm vocabulary and its JSON on the wire — REST, SSE, MQTT `anju/alerts/…`, webhooks — in
 * core, so every side names it once: the alarm store and engine (storage/alarms, alerts/), the
 * InfluxDB export and Grafana dashboards (core/ops-metrics, dashboards/grafana), and the browser
 * control room (dashboards/web, which may import only plain modules like this one).
 */

/** Most to least urgent. */
export const severities = ['critical', 'major', 'minor', 'warning'] as const;
export type Severity = (typeof severities)[number];
/** Higher is worse: severity upgrades compare these. */
export const severityRank: Readonly<Record<Severity, number>> = { warning: 1, minor: 2, major: 3, critical: 4 };

export const alarmStatuses = ['active_unack', 'active_ack', 'cleared_unack', 'cleared_ack'] as const;
export type AlarmStatus = (typeof alarmStatuses)[number];
export const activeStatuses: readonly AlarmStatus[] = ['active_unack', 'active_ack'];
export const isActive = (s: AlarmStatus): boolean => s === 'active_unack' || s === 'active_ack';

export const timelineEvents = ['raised', 'updated', 'severity_changed', 'acked', 'assigned', 'commented', 'cleared', 'escalated'] as const;
export type TimelineEventType = (typeof timelineEvents)[number];

/** What changed an alarm: each is one stored event (SSE `event:`, MQTT and webhook `type`). */
export const alarmEventTypes = ['raised', 'updated', 'acked', 'assigned', 'commented', 'cleared', 'escalated'] as const;
export type AlarmEventType = (typeof alarmEventTypes)[number];

// ---------------------------------------------------------------- JSON (times ISO 8601, DESIGN §3)

export interface TimelineEntryJson {
  time: string;
  event: TimelineEventType;
  actor?: string;
  text?: string;
  details?: Record<string, unknown>;
}

export interface AlarmJson {
  id: string;
  type: string;
  originator: { kind: 'device' | 'building'; id: string };
  site: string;
  building: string;
  severity: Severity;
  status: AlarmStatus;
  startTime: string;
  lastUpdateTime: string;
  ackTime?: string;
  clearTime?: string;
  assignee?: string;
  escalationLevel: number;
  count: number;
  details: Record<string, unknown>;
}

export interface AlarmWithTimelineJson extends AlarmJson {
  timeline: TimelineEntryJson[];
}

/** An alarm event; `reminder` events (unacknowledged-alarm reminders) carry seq 0 and are not stored. */
export interface AlarmEventJson {
  seq: number;
  time: string;
  type: AlarmEventType | 'reminder';
  previousSeverity?: Severity;
  reminder?: number;
  alarm: AlarmJson;
}
