import {
  AlarmError, isActive, severityRank, type Alarm, type AlarmEventType, type AlarmOriginator, type RaiseRequest, type Severity, type TimelineEntry,
} from './contracts.js';

/**
 * The alarm lifecycle as pure functions: each takes an alarm and returns the next version (never
 * mutates), or throws an AlarmError with a code when the transition is not allowed.
 *
 *   active_unack ──ack──▶ active_ack
 *        │                    │
 *      clear                clear
 *        ▼                    ▼
 *   cleared_unack ──ack──▶ cleared_ack
 *
 * Repeats of the condition update the active alarm (count, details, severity only ever upward:
 * the worst seen stands until the alarm is cleared); they add to the timeline only when the
 * severity changes, so a chatty sensor cannot bloat it.
 */

export interface Transition {
  readonly alarm: Alarm;
  readonly event: AlarmEventType;
  readonly previousSeverity?: Severity;
}

export interface NewAlarmInput {
  readonly id: string;
  readonly originator: AlarmOriginator;
  readonly site: string;
  readonly building: string;
  readonly request: RaiseRequest;
  readonly ts: number;
  readonly actor: string;
}

const entry = (ts: number, event: TimelineEntry['event'], extra: Omit<TimelineEntry, 'ts' | 'event'> = {}): TimelineEntry => ({ ts, event, ...extra });

export function raiseAlarm(i: NewAlarmInput): Transition {
  const { request: r } = i;
  const alarm: Alarm = {
    id: i.id, type: r.type, originator: i.originator, site: i.site, building: i.building, severity: r.severity,
    status: 'active_unack', startTs: i.ts, lastUpdateTs: i.ts, escalationLevel: 0, count: 1, details: r.details,
    timeline: [entry(i.ts, 'raised', { actor: i.actor, details: r.details, ...(r.text ? { text: r.text } : {}) })],
  };
  return { alarm, event: 'raised' };
}

export function repeatAlarm(a: Alarm, r: RaiseRequest, ts: number, actor: string): Transition {
  const upgrade = severityRank[r.severity] > severityRank[a.severity];
  const alarm: Alarm = {
    ...a,
    count: a.count + 1,
    lastUpdateTs: Math.max(a.lastUpdateTs, ts),
    details: r.details,
    severity: upgrade ? r.severity : a.severity,
    timeline: upgrade ? [...a.timeline, entry(ts, 'severity_changed', { actor, details: { from: a.severity, to: r.severity, ...r.details } })] : a.timeline,
  };
  return upgrade ? { alarm, event: 'updated', previousSeverity: a.severity } : { alarm, event: 'updated' };
}

export function clearAlarm(a: Alarm, ts: number, actor: string, details?: Record<string, unknown>, text?: string): Transition {
  if (!isActive(a.status)) throw new AlarmError('already_cleared', `alarm ${a.id} is already cleared`);
  const alarm: Alarm = {
    ...a,
    status: a.status === 'active_ack' ? 'cleared_ack' : 'cleared_unack',
    clearTs: ts,
    lastUpdateTs: Math.max(a.lastUpdateTs, ts),
    timeline: [...a.timeline, entry(ts, 'cleared', { actor, ...(details ? { details } : {}), ...(text ? { text } : {}) })],
  };
  return { alarm, event: 'cleared' };
}

export function ackAlarm(a: Alarm, ts: number, actor: string): Transition {
  if (a.status === 'active_ack' || a.status === 'cleared_ack') throw new AlarmError('already_acknowledged', `alarm ${a.id} is already acknowledged`);
  const alarm: Alarm = {
    ...a,
    status: a.status === 'active_unack' ? 'active_ack' : 'cleared_ack',
    ackTs: ts,
    lastUpdateTs: Math.max(a.lastUpdateTs, ts),
    timeline: [...a.timeline, entry(ts, 'acked', { actor })],
  };
  return { alarm, event: 'acked' };
}

export function assignAlarm(a: Alarm, assignee: string, ts: number, actor: string): Transition {
  if (assignee.trim() === '') throw new AlarmError('invalid', 'assignee must not be empty');
  const alarm: Alarm = {
    ...a, assignee, lastUpdateTs: Math.max(a.lastUpdateTs, ts),
    timeline: [...a.timeline, entry(ts, 'assigned', { actor, details: { assignee, ...(a.assignee ? { previous: a.assignee } : {}) } })],
  };
  return { alarm, event: 'assigned' };
}

export function commentAlarm(a: Alarm, text: string, ts: number, actor: string): Transition {
  if (text.trim() === '') throw new AlarmError('invalid', 'a comment needs text');
  const alarm: Alarm = { ...a, lastUpdateTs: Math.max(a.lastUpdateTs, ts), timeline: [...a.timeline, entry(ts, 'commented', { actor, text })] };
  return { alarm, event: 'commented' };
}

/** One level up; only an active, unacknowledged alarm escalates (an ack stops escalation). */
export function escalateAlarm(a: Alarm, ts: number, actor: string, text?: string): Transition {
  if (a.status !== 'active_unack') throw new AlarmError('not_active', `alarm ${a.id} is ${a.status}: only active, unacknowledged alarms escalate`);
  const level = a.escalationLevel + 1;
  const alarm: Alarm = {
    ...a, escalationLevel: level, lastUpdateTs: Math.max(a.lastUpdateTs, ts),
    timeline: [...a.timeline, entry(ts, 'escalated', { actor, details: { level }, ...(text ? { text } : {}) })],
  };
  return { alarm, event: 'escalated' };
}
