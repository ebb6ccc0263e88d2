import type { CommandName, CommandStatus } from './commands.js';
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

/**
 * `notified`: a person paged personally, by which channel and with what outcome (alerts/duty).
 * `response`: a proposal of an incident's response policy and what became of it (core/responses.ts; details.step).
 */
export const timelineEvents = ['raised', 'updated', 'severity_changed', 'acked', 'assigned', 'commented', 'cleared', 'escalated', 'notified', 'response'] as const;
export type TimelineEventType = (typeof timelineEvents)[number];

/** What changed an alarm: each is one stored event (SSE `event:`, MQTT and webhook `type`). */
export const alarmEventTypes = ['raised', 'updated', 'acked', 'assigned', 'commented', 'cleared', 'escalated'] as const;
export type AlarmEventType = (typeof alarmEventTypes)[number];

/** The alarm types the built-in rules raise (alerts/rules/), in the order the README's table lists them. */
export const alarmTypes = [
  'smoke', 'heat', 'heat_rise', 'co', 'manual_call', 'fire_risk', 'residual_current', 'overcurrent', 'cable_temperature',
  'bin_fill', 'bin_time_to_full', 'bin_fire', 'bin_tilt', 'bin_lid_open', 'water_leak', 'water_burst', 'water_balance', 'offline', 'battery',
] as const;
export type AlarmType = (typeof alarmTypes)[number];

/**
 * What an incident is about (DESIGN §5 "incidents over alarms"): the alarms of one building that
 * speak of the same danger are one incident — one fire, one leak — and each alarm is its evidence.
 */
export const hazards = ['fire', 'electrical', 'water', 'waste', 'device'] as const;
export type Hazard = (typeof hazards)[number];

const hazardByType: Readonly<Record<AlarmType, Hazard>> = {
  // CO with smoke is how a smouldering fire shows first; a bin fire is a fire at the building's bin station.
  smoke: 'fire', heat: 'fire', heat_rise: 'fire', co: 'fire', manual_call: 'fire', fire_risk: 'fire', bin_fire: 'fire',
  residual_current: 'electrical', overcurrent: 'electrical', cable_temperature: 'electrical',
  bin_fill: 'waste', bin_time_to_full: 'waste', bin_tilt: 'waste', bin_lid_open: 'waste',
  water_leak: 'water', water_burst: 'water', water_balance: 'water',
  offline: 'device', battery: 'device',
};

/** The hazard an alarm type belongs to; types this version does not know are device-health matters. */
export function hazardOf(type: string): Hazard {
  return Object.prototype.hasOwnProperty.call(hazardByType, type) ? hazardByType[type as AlarmType] : 'device';
}

/**
 * How far an incident has got. Fire incidents follow the two-stage logic of GB 50116-2013 §4.1.6
 * (mandatory as GB 55036-2022 §12.0.11): one alarm signal is a 预警 (pre-alarm) to verify; two
 * independent signals — two devices, a detector's smoke with its heat or CO element, or a manual
 * call point (a person) — are a 火警 (fire). Other hazards have one stage, `alarm`.
 */
export const incidentLevels = ['pre_alarm', 'alarm', 'fire'] as const;
export type IncidentLevel = (typeof incidentLevels)[number];
export const incidentLevelRank: Readonly<Record<IncidentLevel, number>> = { pre_alarm: 1, alarm: 2, fire: 3 };

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
  /** In the viewer's language (API `lang` / Accept-Language): one line saying what, where and how much. */
  summary?: string;
  /** The evidence, one line per value with its unit (温度 62.0 °C, 升温速率 9.1 °C/min). */
  evidence?: string[];
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

// ---------------------------------------------------------------- incidents (JSON)

/** A member alarm as its incident lists it: enough to fold it under the incident without another request. */
export interface IncidentMemberJson {
  id: string;
  type: string;
  originator: { kind: 'device' | 'building'; id: string };
  severity: Severity;
  status: AlarmStatus;
  startTime: string;
  clearTime?: string;
  details: Record<string, unknown>;
  summary?: string;
}

export interface IncidentJson {
  id: string;
  hazard: Hazard;
  level: IncidentLevel;
  site: string;
  building: string;
  /** The worst severity its alarms reached (only ever upward, like an alarm's). */
  severity: Severity;
  status: AlarmStatus;
  startTime: string;
  lastUpdateTime: string;
  ackTime?: string;
  clearTime?: string;
  assignee?: string;
  escalationLevel: number;
  /** Every alarm that joined it, in the order they joined. */
  alarmIds: string[];
  alarms: IncidentMemberJson[];
  summary?: string;
  evidence?: string[];
  /** What its response policy proposes to do (core/responses.ts), oldest first; absent when nothing was proposed. */
  proposals?: ProposalJson[];
}

/** A proposal as the API, SSE and webhooks show it (core/responses.ts Proposal, times ISO 8601). */
export interface ProposalJson {
  id: string;
  alarmId: string;
  alarmType: string;
  device: string;
  command: CommandName;
  mode: 'propose' | 'auto_after';
  autoAt?: string;
  interlock?: { code: string; reason: string; standard: string };
  status: 'proposed' | 'confirmed' | 'performed' | 'rejected' | 'withdrawn';
  createdAt: string;
  decidedAt?: string;
  decidedBy?: string;
  sentBy?: string;
  reason?: string;
  commandId?: string;
  commandStatus?: CommandStatus;
  commandMessage?: string;
  commandState?: string;
}

export interface IncidentWithTimelineJson extends IncidentJson {
  timeline: TimelineEntryJson[];
}

/** An incident event; `reminder` events carry seq 0 and are not stored. */
export interface IncidentEventJson {
  seq: number;
  time: string;
  type: AlarmEventType | 'reminder';
  previousSeverity?: Severity;
  previousLevel?: IncidentLevel;
  reminder?: number;
  /** The member alarm whose change caused this event, when one did. */
  alarm?: AlarmJson;
  /** The proposal whose change caused this event, when one did, and what happened to it. */
  response?: { proposalId: string; step: string };
  incident: IncidentJson;
}

// The alarm as the engine decides it and the stores keep it (storage/alarms/contract.ts persists it).

export interface AlarmOriginator {
  readonly kind: 'device' | 'building';
  /** Device id, or building id (building ids are unique within their site only). */
  readonly id: string;
}

export interface TimelineEntry {
  readonly ts: number;
  readonly event: TimelineEventType;
  /** Who did it: a user/token name, or `rule:<name>` for the engine. */
  readonly actor?: string;
  readonly text?: string;
  readonly details?: Readonly<Record<string, unknown>>;
}

export interface Alarm {
  readonly id: string;
  /** What is wrong, e.g. `smoke`, `bin_fill`, `offline` (one rule may raise several types). */
  readonly type: string;
  readonly originator: AlarmOriginator;
  readonly site: string;
  readonly building: string;
  readonly severity: Severity;
  readonly status: AlarmStatus;
  /** Epoch ms. Times of rule decisions are the triggering reading's time; human actions, the engine clock. */
  readonly startTs: number;
  readonly lastUpdateTs: number;
  readonly ackTs?: number;
  readonly clearTs?: number;
  readonly assignee?: string;
  /** 0 until escalation moves it up. */
  readonly escalationLevel: number;
  /** How many times the condition fired while this alarm was active (1 when raised). */
  readonly count: number;
  /** The values that triggered it, as of the latest repeat. */
  readonly details: Readonly<Record<string, unknown>>;
  readonly timeline: readonly TimelineEntry[];
  /**
   * The store's revision of this version: the seq of the event that wrote it (absent before it is
   * stored). Writes are compare-and-set on it (storage/revisions.ts): a node never overwrites a change
   * another node made since it read the alarm.
   */
  readonly rev?: number;
}

/** What notifiers (SSE, MQTT, webhooks) receive: every change of an alarm, in `seq` order. */
export interface AlarmEvent {
  /** Monotonic across restarts: the SSE `id:` / `Last-Event-ID`, and a webhook idempotency key. */
  readonly seq: number;
  readonly ts: number;
  readonly type: AlarmEventType;
  /** The alarm as it stands after the event. */
  readonly alarm: Alarm;
  /** On an `updated` event that raised the severity: what it was before (notify on upgrades). */
  readonly previousSeverity?: Severity;
}

/** Identity of "the" active alarm: one per (originator, type); buildings need their site too. */
export interface AlarmKey {
  readonly originator: AlarmOriginator;
  readonly type: string;
  readonly site: string;
}

export function alarmKey(k: AlarmKey): string {
  return k.originator.kind === 'device' ? `device/${k.originator.id}/${k.type}` : `building/${k.site}/${k.originator.id}/${k.type}`;
}
