import type { Alarm, AlarmEvent, AlarmEventType, AlarmKey, AlarmStatus, Severity } from '../../core/alarms.js';
import type { Page } from '../state/contract.js';

/**
 * The AlarmStore contract: what storage persists for the alerts part. The alarm model itself
 * (Alarm, AlarmEvent, AlarmKey) is core's domain vocabulary; it is re-exported here because the
 * contract speaks it, and `alerts/contracts.ts` re-exports this, so the alerts part and its users
 * keep importing from one place.
 */

// The vocabulary (severities, statuses, event types, the alarm itself) is core's, shared with the wire JSON and the UI.
export {
  activeStatuses, alarmEventTypes, alarmKey, alarmStatuses, isActive, severities, severityRank, timelineEvents,
  type Alarm, type AlarmEvent, type AlarmEventType, type AlarmKey, type AlarmOriginator, type AlarmStatus, type Severity,
  type TimelineEntry, type TimelineEventType,
} from '../../core/alarms.js';
import { CodedError } from '../../core/errors.js';

/** What `record` is told about an event; the store adds `seq` and the alarm. */
export interface AlarmEventInput {
  readonly type: AlarmEventType;
  readonly ts: number;
  readonly previousSeverity?: Severity;
}

/** One event of a `recordMany` group commit. */
export interface AlarmRecordEntry {
  readonly alarm: Alarm;
  readonly event: AlarmEventInput;
}

export interface AlarmQuery {
  readonly status?: AlarmStatus | readonly AlarmStatus[];
  readonly severity?: Severity | readonly Severity[];
  readonly type?: string;
  readonly site?: string;
  /** Only alarms of these sites (a caller's site scope, applied before paging); an empty list matches none. */
  readonly sites?: readonly string[];
  readonly building?: string;
  readonly originatorId?: string;
  /** Newest `startTs` first. */
  readonly limit: number;
  readonly offset: number;
}

/**
 * Persistence of alarms, their event log and the rule engine's state.
 * - `record` writes the alarm (insert or replace by id) and appends its event in one transaction;
 *   the store assigns the next `seq`. `recordMany` does the same for many events in one transaction.
 *   It rejects with ActiveAlarmConflictError instead of letting
 *   two active alarms share a key, whatever the caller does.
 * - Revisions (storage/revisions.ts): an alarm carrying `rev` (its first entry in the call) is written
 *   only if the stored alarm is still at that revision, else the whole call fails with
 *   AlarmChangedError; each event's alarm, and the stored alarm, carry the seq that wrote them as `rev`.
 * - Times are epoch ms.
 */
export interface AlarmStore {
  record(alarm: Alarm, event: AlarmEventInput): Promise<AlarmEvent>;
  /**
   * Group commit: every entry, in order, in ONE transaction — all stored with consecutive seqs
   * (returned in entry order), or none (the error is thrown, no seq is used). The same rules as
   * `record` apply entry by entry, in order: an entry that would make a second alarm active under
   * a key (counting the entries before it) fails the whole call with ActiveAlarmConflictError.
   * Several entries may carry the same alarm id (raise, then repeat, then clear): the alarm ends
   * as the last of them, and each event keeps its own snapshot. An empty list stores nothing.
   */
  recordMany(entries: readonly AlarmRecordEntry[]): Promise<AlarmEvent[]>;
  get(id: string): Promise<Alarm | undefined>;
  findActive(key: AlarmKey): Promise<Alarm | undefined>;
  list(query: AlarmQuery): Promise<Page<Alarm>>;
  /** Events with seq > `seq`, oldest first (SSE replay), at most `limit` (default 1,000). */
  eventsSince(seq: number, limit?: number): Promise<AlarmEvent[]>;
  /** The highest seq recorded, 0 when none. */
  lastSeq(): Promise<number>;
  /** Drops events older than `beforeTs` (alarms themselves stay); returns how many. */
  pruneEvents(beforeTs: number): Promise<number>;
  /**
   * Every rule-state entry, by key; values are what was saved (JSON-compatible). With `keys`, only
   * those that exist among them (a device taken over from another node: its entries only).
   */
  loadRuleState(keys?: readonly string[]): Promise<Map<string, unknown>>;
  /**
   * Upserts entries; an `undefined` value deletes the key. One transaction. The values are
   * serialised before the call returns its promise, so the caller may go on changing them (the
   * engine's rules mutate their state in place) without copying them first.
   */
  saveRuleState(changes: ReadonlyMap<string, unknown>): Promise<void>;
  /**
   * The rules configuration last saved through `PUT /api/rules` (as JSON-compatible data, validated
   * by the engine, not here), or undefined when none was saved. Kept apart from the rule state:
   * `loadRuleState` never returns it.
   */
  loadRulesConfig(): Promise<unknown>;
  saveRulesConfig(config: unknown): Promise<void>;
  close(): Promise<void>;
}

/** A write from an alarm another writer (another node) changed since it was read. */
export class AlarmChangedError extends CodedError {
  override name = 'AlarmChangedError';
  constructor(readonly alarmId: string, expected: number, stored: number | undefined) {
    super('alarm_changed', 'conflict', `alarm ${alarmId} changed since it was read (rev ${expected}, stored ${stored ?? 'none'}): read it again`);
  }
}

export class ActiveAlarmConflictError extends CodedError {
  override name = 'ActiveAlarmConflictError';
  constructor(message: string, options?: { cause?: unknown }) {
    super('active_alarm_exists', 'conflict', message, options);
  }
}
