import type { AlarmEventType, AlarmStatus, Severity, TimelineEventType } from '../../core/alarms.js';
import type { Page } from '../state/contract.js';

/**
 * The alarm model and the AlarmStore contract: what storage persists for the alerts part. It
 * lives in storage/ (not alerts/) because DESIGN §2 lets storage import only core: the store
 * implementations (`storage/embedded/alarms.ts`) need these types, and `alerts/contracts.ts`
 * re-exports them, so the alerts part and its users keep importing from one place.
 */

// The vocabulary (severities, statuses, event types) is core's, shared with the wire JSON and the UI.
export {
  activeStatuses, alarmEventTypes, alarmStatuses, isActive, severities, severityRank, timelineEvents,
  type AlarmEventType, type AlarmStatus, type Severity, type TimelineEventType,
} from '../../core/alarms.js';
import { CodedError } from '../../core/errors.js';

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
  readonly building?: string;
  readonly originatorId?: string;
  /** Newest `startTs` first. */
  readonly limit: number;
  readonly offset: number;
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

/**
 * Persistence of alarms, their event log and the rule engine's state.
 * - `record` writes the alarm (insert or replace by id) and appends its event in one transaction;
 *   the store assigns the next `seq`. `recordMany` does the same for many events in one transaction. It rejects with ActiveAlarmConflictError instead of letting
 *   two active alarms share a key, whatever the caller does.
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
  /** Every rule-state entry, by key; values are what was saved (JSON-compatible). */
  loadRuleState(): Promise<Map<string, unknown>>;
  /** Upserts entries; an `undefined` value deletes the key. One transaction. */
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

export class ActiveAlarmConflictError extends CodedError {
  override name = 'ActiveAlarmConflictError';
  constructor(message: string, options?: { cause?: unknown }) {
    super('active_alarm_exists', 'conflict', message, options);
  }
}
