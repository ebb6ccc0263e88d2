import type { Alarm, AlarmEventType, AlarmStatus, Hazard, IncidentLevel, Severity, TimelineEntry } from '../../core/alarms.js';
import type { Page } from '../state/contract.js';
import { CodedError } from '../../core/errors.js';
import type { Proposal, ResponseChange } from '../../core/responses.js';

/**
 * Incidents (DESIGN §5): the alarms of one site, building and hazard correlated into one thing
 * people work — one fire, one leak — with the alarms as its evidence. This is what storage keeps
 * of them and the IncidentStore contract every implementation passes (test/storage/
 * incident-store.contract.ts: the embedded DuckDB store now, PostgreSQL in cluster mode).
 *
 * The alerts part decides (alerts/incidents/); a store only persists, and refuses — whatever the
 * caller does — a second active incident under one key.
 */

export { hazards, incidentLevels, incidentLevelRank, type Hazard, type IncidentLevel } from '../../core/alarms.js';

/** A member alarm as its incident keeps it: updated when it joins, changes severity or status — not on every repeat. */
export type IncidentMember = Pick<Alarm, 'id' | 'type' | 'originator' | 'site' | 'building' | 'severity' | 'status' | 'startTs' | 'clearTs'> & {
  /** The values that triggered the alarm as of the member's last change (not its latest repeat, as on the alarm itself). */
  readonly details: Alarm['details'];
};

export interface Incident {
  readonly id: string;
  readonly hazard: Hazard;
  readonly site: string;
  readonly building: string;
  readonly level: IncidentLevel;
  /** The worst severity of its members so far (only ever upward until it is cleared). */
  readonly severity: Severity;
  readonly status: AlarmStatus;
  readonly startTs: number;
  readonly lastUpdateTs: number;
  readonly ackTs?: number;
  readonly clearTs?: number;
  readonly assignee?: string;
  readonly escalationLevel: number;
  /** In the order they joined. */
  readonly members: readonly IncidentMember[];
  /** Set while every member is cleared and the incident waits out its settle time; absent otherwise. */
  readonly quietSinceTs?: number;
  readonly timeline: readonly TimelineEntry[];
  /** What its site's response policy proposed (core/responses.ts), oldest first; absent when nothing was. */
  readonly proposals?: readonly Proposal[];
  /**
   * The store's revision of this version: the seq of the event that wrote it (absent on an incident
   * never stored). A write carrying it is a compare-and-set — refused with IncidentChangedError when
   * another writer (another node, in a cluster) changed the incident since — so no node overwrites a
   * change it has not seen.
   */
  readonly rev?: number;
}

/** One active incident per (site, building, hazard). */
export interface IncidentKey {
  readonly site: string;
  readonly building: string;
  readonly hazard: Hazard;
}

export function incidentKey(k: IncidentKey): string {
  return `${k.site}/${k.building}/${k.hazard}`;
}

export interface IncidentEvent {
  /** Monotonic across restarts (its own sequence, not the alarms'): SSE `id:` of `/api/incidents/stream`. */
  readonly seq: number;
  readonly ts: number;
  readonly type: AlarmEventType;
  /** The incident as this event left it, without its timeline (the event is the news; the timeline is one GET away). */
  readonly incident: Incident;
  readonly previousSeverity?: Severity;
  /** On an event that raised the level (预警 → 火警): what it was. */
  readonly previousLevel?: IncidentLevel;
  /** The member alarm whose change caused the event (without its timeline), when one did. */
  readonly alarm?: Alarm;
  /** The proposal whose change caused the event, when one did. */
  readonly response?: ResponseChange;
}

export interface IncidentEventInput {
  readonly type: AlarmEventType;
  readonly ts: number;
  readonly previousSeverity?: Severity;
  readonly previousLevel?: IncidentLevel;
  readonly alarm?: Alarm;
  readonly response?: ResponseChange;
}

export interface IncidentRecordEntry {
  readonly incident: Incident;
  readonly event: IncidentEventInput;
}

export interface IncidentQuery {
  readonly status?: AlarmStatus | readonly AlarmStatus[];
  readonly severity?: Severity | readonly Severity[];
  readonly hazard?: Hazard | readonly Hazard[];
  readonly level?: IncidentLevel | readonly IncidentLevel[];
  readonly site?: string;
  /** Only incidents of these sites (a caller's site scope, applied before paging); an empty list matches none. */
  readonly sites?: readonly string[];
  readonly building?: string;
  /** The incident holding this alarm. */
  readonly alarmId?: string;
  /** Assigned to this (an account id, or the free text an operator typed). */
  readonly assignee?: string;
  /** Newest `startTs` first. */
  readonly limit: number;
  readonly offset: number;
}

/**
 * Persistence of incidents and their event log.
 * - `recordMany`: every entry in ONE transaction, consecutive seqs in entry order, or none; an
 *   entry that would make a second incident active under a key (counting the entries before it)
 *   fails the whole call with ActiveIncidentConflictError. `alarmSeq`, when given, is stored in the
 *   same transaction: the alarm event seq up to which incidents are decided (`alarmWatermark`), so
 *   a restart replays exactly the alarm events whose incident changes were not stored yet.
 * - Revisions: an entry whose incident carries `rev` (the first entry of that incident in the call)
 *   is written only if the stored incident is still at that revision; otherwise the whole call fails
 *   with IncidentChangedError naming it, and the caller reads it again and decides again. An
 *   incident without `rev` (a new one) is written as it is. Every event's incident, and the stored
 *   incident after the call, carry the new revision: the seq of the event that wrote them.
 * - Times are epoch ms.
 */
export interface IncidentStore {
  recordMany(entries: readonly IncidentRecordEntry[], alarmSeq?: number): Promise<IncidentEvent[]>;
  /** Moves the watermark alone (alarm events that changed no incident). Never moves it backwards. */
  saveAlarmWatermark(alarmSeq: number): Promise<void>;
  /** 0 when none was stored. */
  alarmWatermark(): Promise<number>;
  get(id: string): Promise<Incident | undefined>;
  findActive(key: IncidentKey): Promise<Incident | undefined>;
  list(query: IncidentQuery): Promise<Page<Incident>>;
  /** Events with seq > `seq`, oldest first, at most `limit` (default 1,000). */
  eventsSince(seq: number, limit?: number): Promise<IncidentEvent[]>;
  lastSeq(): Promise<number>;
  /** Drops events older than `beforeTs` (incidents stay); returns how many. */
  pruneEvents(beforeTs: number): Promise<number>;
  close(): Promise<void>;
}

export class ActiveIncidentConflictError extends CodedError {
  override name = 'ActiveIncidentConflictError';
  constructor(message: string, options?: { cause?: unknown }) {
    super('active_incident_exists', 'conflict', message, options);
  }
}

/** A write from an incident another writer has changed since it was read (its `rev` is not the stored one). */
export class IncidentChangedError extends CodedError {
  override name = 'IncidentChangedError';
  constructor(readonly incidentId: string, expected: number, stored: number | undefined) {
    super('incident_changed', 'conflict', `incident ${incidentId} changed since it was read (rev ${expected}, stored ${stored ?? 'none'}): read it again`);
  }
}

export type { Page };
