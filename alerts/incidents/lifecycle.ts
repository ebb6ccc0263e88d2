import { hazardOf, incidentLevelRank, type IncidentLevel } from '../../core/alarms.js';
import type { Incident, IncidentEventInput, IncidentMember } from '../../storage/incidents/contract.js';
import { withdrawOpen } from '../responses/transitions.js';
import { confirmed, criterionOf, FIRE_SIGNAL_WINDOW_S } from '../rules/fire-risk.js';
import { AlarmError, isActive, severityRank, type Alarm, type AlarmStatus, type TimelineEntry } from '../contracts.js';

/**
 * The incident lifecycle as pure functions, like the alarm one (../lifecycle.ts): each takes an
 * incident and returns its next version with the event that says so, or throws an AlarmError
 * when a human action is not allowed. Status follows the alarm model (active_unack → active_ack →
 * cleared_ack, or cleared_unack); severity and level only ever go up while it is active.
 *
 * Level (core/alarms.ts incidentLevels): a fire incident is a 预警 (pre-alarm) until it holds two
 * independent signals (GB 50116-2013 §4.1.6: the building's `fire_risk` alarm, or its members; see
 * levelOf) and from then a 火警 (fire). Going up a level or a severity makes it unacknowledged again: a new situation needs
 * someone to take it on. A 火警 stays until a person clears it, as a fire alarm control unit holds
 * its fire alarm condition until it is reset by hand (GB 4717-2005, EN 54-2); every other incident
 * clears itself once all its alarms have been clear for the settle time.
 */

export interface IncidentTransition {
  readonly incident: Incident;
  readonly event: IncidentEventInput;
}

const entry = (ts: number, event: TimelineEntry['event'], extra: Omit<TimelineEntry, 'ts' | 'event'> = {}): TimelineEntry => ({ ts, event, ...extra });

/** An alarm as its incident keeps it (details as of now; timeline left to the alarm itself). */
export function memberOf(a: Alarm): IncidentMember {
  return {
    id: a.id, type: a.type, originator: a.originator, site: a.site, building: a.building, severity: a.severity, status: a.status,
    startTs: a.startTs, ...(a.clearTs !== undefined ? { clearTs: a.clearTs } : {}), details: a.details,
  };
}

/** The alarm without its timeline, for an event (the alarm's GET has the timeline). */
export const eventAlarm = (a: Alarm): Alarm => ({ ...a, timeline: [] });

/**
 * 火警 once the incident holds two independent fire signals — the building's `fire_risk` alarm, or
 * its own members meeting the same criterion (alerts/rules/fire-risk.ts `confirmed`, GB 50116-2013
 * §4.1.6): two detectors, a manual call point, or one detector's smoke with its heat. The members
 * matter in a cluster, where each node's rules see only the detectors connected to it, so no node
 * may raise `fire_risk` for a fire whose detectors report to two nodes; the incident holds every
 * node's alarms. A member counts while active and for the rule's window after it cleared.
 */
export function levelOf(
  hazard: Incident['hazard'], members: readonly Pick<IncidentMember, 'type' | 'originator' | 'status' | 'clearTs'>[], ts: number,
  signal: FireSignalParams = defaultFireSignal,
): IncidentLevel {
  if (hazard !== 'fire') return 'alarm';
  if (members.some((m) => m.type === 'fire_risk')) return 'fire';
  const signals = members.flatMap((m) => {
    const criterion = criterionOf[m.type];
    if (criterion === undefined || m.originator.kind !== 'device') return [];
    // The device's own fire_risk settings: switched off for it, its alarms confirm nothing; its window.
    const p = signal(m.originator.id) ?? { enabled: true, windowS: FIRE_SIGNAL_WINDOW_S };
    const counts = p.enabled && (isActive(m.status) || (m.clearTs ?? -Infinity) >= ts - p.windowS * 1000);
    return counts ? [{ device: m.originator.id, criterion }] : [];
  });
  return confirmed(signals) ? 'fire' : 'pre_alarm';
}

/** The `fire_risk` rule's settings for a device (its site's, kind's or own): whether it confirms, and its window. */
export type FireSignalParams = (deviceId: string) => { readonly enabled: boolean; readonly windowS: number } | undefined;
const defaultFireSignal: FireSignalParams = () => undefined;

/** Whether the incident waits for a person to clear it (a confirmed fire), whatever its alarms do. */
export const latched = (i: Pick<Incident, 'level'>): boolean => i.level === 'fire';

const allCleared = (members: readonly IncidentMember[]) => members.every((m) => !isActive(m.status));
const maxLevel = (a: IncidentLevel, b: IncidentLevel): IncidentLevel => (incidentLevelRank[b] > incidentLevelRank[a] ? b : a);

export function openIncident(id: string, a: Alarm, ts: number, signal?: FireSignalParams): IncidentTransition {
  const hazard = hazardOf(a.type);
  const members = [memberOf(a)];
  const incident: Incident = {
    id, hazard, site: a.site, building: a.building, level: levelOf(hazard, members, ts, signal), severity: a.severity, status: 'active_unack',
    startTs: ts, lastUpdateTs: ts, escalationLevel: 0, members,
    timeline: [entry(ts, 'raised', { actor: 'rule:incident', details: { alarmId: a.id, type: a.type } })],
  };
  return { incident, event: { type: 'raised', ts, alarm: eventAlarm(a) } };
}

/**
 * An alarm's status as its incident should show it: an alarm is never unacknowledged again once
 * acknowledged, nor active again once cleared (a clear ends it; a new raise is a new alarm). So
 * an event decided before the engine applied an incident's ack or clear to this alarm (a repeat
 * in between) does not undo what the incident already shows.
 */
function mergedStatus(shown: AlarmStatus, event: AlarmStatus): AlarmStatus {
  const acked = shown === 'active_ack' || shown === 'cleared_ack' || event === 'active_ack' || event === 'cleared_ack';
  const active = isActive(shown) && isActive(event);
  return active ? (acked ? 'active_ack' : 'active_unack') : acked ? 'cleared_ack' : 'cleared_unack';
}

/**
 * An alarm joins (a new one) or changes (severity, status) in the incident. Undefined when nothing
 * the incident shows changed (a repeat). Severity and level rising make it unacknowledged again.
 */
export function applyAlarm(i: Incident, a: Alarm, ts: number, signal?: FireSignalParams): IncidentTransition | undefined {
  const at = i.members.findIndex((m) => m.id === a.id);
  const before = at >= 0 ? i.members[at] : undefined;
  const status = before ? mergedStatus(before.status, a.status) : a.status;
  if (before && before.status === status && before.severity === a.severity) return undefined;
  const member: IncidentMember = { ...memberOf(a), status, ...(before?.clearTs !== undefined && a.clearTs === undefined ? { clearTs: before.clearTs } : {}) };
  const members = at >= 0 ? i.members.map((m, k) => (k === at ? member : m)) : [...i.members, member];
  const severity = severityRank[a.severity] > severityRank[i.severity] && isActive(a.status) ? a.severity : i.severity;
  const level = maxLevel(i.level, levelOf(i.hazard, members, ts, signal));
  const rose = severity !== i.severity || level !== i.level;
  const incidentStatus: AlarmStatus = rose && i.status === 'active_ack' ? 'active_unack' : i.status;
  const quiet = allCleared(members) ? (i.quietSinceTs ?? ts) : undefined;
  const timeline = [...i.timeline];
  if (!before) timeline.push(entry(ts, 'updated', { actor: 'rule:incident', details: { alarmId: a.id, type: a.type, joined: true } }));
  if (rose) timeline.push(entry(ts, 'severity_changed', { actor: 'rule:incident', details: { from: { severity: i.severity, level: i.level }, to: { severity, level } } }));
  const { quietSinceTs: _q, ...rest } = i;
  const incident: Incident = {
    ...rest, members, severity, level, status: incidentStatus, lastUpdateTs: Math.max(i.lastUpdateTs, ts), timeline,
      ...(quiet !== undefined ? { quietSinceTs: quiet } : {}),
  };
  return {
    incident,
    event: {
      type: 'updated', ts, alarm: eventAlarm(a),
      ...(severity !== i.severity ? { previousSeverity: i.severity } : {}), ...(level !== i.level ? { previousLevel: i.level } : {}),
    },
  };
}

/**
 * An update that is only news to whoever reads the incident: an alarm joined or changed, a note, an
 * assignment — no level or severity raised (what pages, alerts/notifiers `isPaging`), no response
 * step, no acknowledgement or clear. Several of one incident in one commit may be recorded as one
 * event (`coalesceQuietUpdates`).
 */
export function isQuietUpdate(t: IncidentTransition): boolean {
  const e = t.event;
  return e.type === 'updated' && e.previousLevel === undefined && e.previousSeverity === undefined && e.response === undefined;
}

/**
 * The transitions of one commit with each run of an incident's quiet updates recorded as one event:
 * the last, which carries the incident's state after all of them. Every event carries the whole
 * incident with its members, so one event per joining alarm made a storm quadratic (500 devices of a
 * building offline at once: 500 events holding 35 MB of incidents, BENCHMARKS.md). A run is broken by
 * any other event of that incident (which keeps its place, as do the events of other incidents); the
 * quiet updates after it start a new one.
 */
export function coalesceQuietUpdates(transitions: readonly IncidentTransition[]): IncidentTransition[] {
  const out: IncidentTransition[] = [];
  /** Per incident: where in `out` its latest event is, while that event is a quiet update. */
  const lastQuiet = new Map<string, number>();
  for (const t of transitions) {
    const quiet = isQuietUpdate(t);
    const at = lastQuiet.get(t.incident.id);
    if (quiet && at !== undefined) {
      out[at] = t;
      continue;
    }
    out.push(t);
    if (quiet) lastQuiet.set(t.incident.id, out.length - 1);
    else lastQuiet.delete(t.incident.id);
  }
  return out;
}

/** Whether an incident whose alarms are all clear has waited out `settleMs` and may clear itself. */
export function settled(i: Incident, now: number, settleMs: number): boolean {
  return isActive(i.status) && !latched(i) && i.quietSinceTs !== undefined && allCleared(i.members) && now - i.quietSinceTs >= settleMs;
}

/** Members' statuses after a human ack / clear of the incident: what the engine is about to record for each. */
function membersAfter(members: readonly IncidentMember[], action: 'ack' | 'clear', ts: number): IncidentMember[] {
  return members.map((m) => {
    if (action === 'ack') return m.status === 'active_unack' ? { ...m, status: 'active_ack' } : m.status === 'cleared_unack' ? { ...m, status: 'cleared_ack' } : m;
    if (!isActive(m.status)) return m;
    return { ...m, status: m.status === 'active_ack' ? 'cleared_ack' : 'cleared_unack', clearTs: ts };
  });
}

export function ackIncident(i: Incident, ts: number, actor: string): IncidentTransition {
  if (i.status === 'active_ack' || i.status === 'cleared_ack') throw new AlarmError('already_acknowledged', `incident ${i.id} is already acknowledged`);
  const incident: Incident = {
    ...i, status: i.status === 'active_unack' ? 'active_ack' : 'cleared_ack', ackTs: ts, lastUpdateTs: Math.max(i.lastUpdateTs, ts),
    members: membersAfter(i.members, 'ack', ts), timeline: [...i.timeline, entry(ts, 'acked', { actor })],
  };
  return { incident, event: { type: 'acked', ts } };
}

/** Cleared by a person (all its active alarms with it) or by itself once settled (`rule:incident`). */
export function clearIncident(i: Incident, ts: number, actor: string): IncidentTransition {
  if (!isActive(i.status)) throw new AlarmError('already_cleared', `incident ${i.id} is already cleared`);
  const { quietSinceTs: _q, ...rest } = i;
  // Proposals nobody decided are withdrawn with it: the condition they answered is over.
  const withdrawn = (i.proposals ?? []).filter((p) => p.status === 'proposed')
    .map((p) => entry(ts, 'response', { actor: 'rule:incident', details: { proposalId: p.id, step: 'withdrawn', device: p.device, command: p.command } }));
  const incident: Incident = {
    ...rest, status: i.status === 'active_ack' ? 'cleared_ack' : 'cleared_unack', clearTs: ts, lastUpdateTs: Math.max(i.lastUpdateTs, ts),
    members: membersAfter(i.members, 'clear', ts), timeline: [...i.timeline, ...withdrawn, entry(ts, 'cleared', { actor })], ...withdrawOpen(i.proposals, ts),
  };
  return { incident, event: { type: 'cleared', ts } };
}

export function assignIncident(i: Incident, assignee: string, ts: number, actor: string): IncidentTransition {
  if (assignee.trim() === '') throw new AlarmError('invalid', 'assignee must not be empty');
  const incident: Incident = {
    ...i, assignee, lastUpdateTs: Math.max(i.lastUpdateTs, ts),
    timeline: [...i.timeline, entry(ts, 'assigned', { actor, details: { assignee, ...(i.assignee ? { previous: i.assignee } : {}) } })],
  };
  return { incident, event: { type: 'assigned', ts } };
}

export function commentIncident(i: Incident, text: string, ts: number, actor: string): IncidentTransition {
  if (text.trim() === '') throw new AlarmError('invalid', 'a comment needs text');
  const incident: Incident = { ...i, lastUpdateTs: Math.max(i.lastUpdateTs, ts), timeline: [...i.timeline, entry(ts, 'commented', { actor, text })] };
  return { incident, event: { type: 'commented', ts } };
}

/**
 * One level up — or, with `toLevel`, to that level only if it is not reached yet: a check decided on
 * an older copy (another node escalated meanwhile) then changes nothing rather than skipping a level.
 */
export function escalateIncident(i: Incident, ts: number, actor: string, text?: string, toLevel?: number): IncidentTransition {
  if (i.status !== 'active_unack') throw new AlarmError('not_active', `incident ${i.id} is ${i.status}: only active, unacknowledged incidents escalate`);
  if (toLevel !== undefined && i.escalationLevel >= toLevel) throw new AlarmError('already_escalated', `incident ${i.id} is at level ${i.escalationLevel} already`);
  const level = i.escalationLevel + 1;
  const incident: Incident = {
    ...i, escalationLevel: level, lastUpdateTs: Math.max(i.lastUpdateTs, ts),
    timeline: [...i.timeline, entry(ts, 'escalated', { actor, details: { level }, ...(text ? { text } : {}) })],
  };
  return { incident, event: { type: 'escalated', ts } };
}

/** Who acknowledged an alarm last, from its timeline (an incident acknowledged through its alarms names them). */
export function lastAckActor(a: Alarm): string {
  return [...a.timeline].reverse().find((t) => t.event === 'acked')?.actor ?? 'unknown';
}

/** Every member acknowledged (none unacknowledged)? */
export const allAcked = (members: readonly IncidentMember[]): boolean => members.every((m) => m.status === 'active_ack' || m.status === 'cleared_ack');
