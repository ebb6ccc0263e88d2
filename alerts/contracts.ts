import type { Logger } from 'pino';
import type { z } from 'zod';
import type { Device, KindName, Reading } from '../core/index.js';
import type { Page } from '../storage/state/contract.js';

/**
 * The alerts contracts: the alarm model (ThingsBoard's, made trustworthy), the events notifiers
 * receive, the store that persists both, and the rule interface every file in `rules/` implements.
 * The delivery side (REST, SSE, webhooks, escalation) builds on these only.
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

export interface AlarmOriginator {
  readonly kind: 'device' | 'building';
  /** Device id, or building id (building ids are unique within their site only). */
  readonly id: string;
}

export const timelineEvents = ['raised', 'updated', 'severity_changed', 'acked', 'assigned', 'commented', 'cleared', 'escalated'] as const;
export type TimelineEventType = (typeof timelineEvents)[number];

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

export const alarmEventTypes = ['raised', 'updated', 'acked', 'assigned', 'commented', 'cleared', 'escalated'] as const;
export type AlarmEventType = (typeof alarmEventTypes)[number];

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
 *   the store assigns the next `seq`. It rejects with ActiveAlarmConflictError instead of letting
 *   two active alarms share a key, whatever the caller does.
 * - Times are epoch ms.
 */
export interface AlarmStore {
  record(alarm: Alarm, event: AlarmEventInput): Promise<AlarmEvent>;
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
  close(): Promise<void>;
}

export class ActiveAlarmConflictError extends Error {
  override name = 'ActiveAlarmConflictError';
}

export const alarmErrorCodes = ['not_found', 'already_acknowledged', 'already_cleared', 'not_active', 'invalid'] as const;
export type AlarmErrorCode = (typeof alarmErrorCodes)[number];

/** A refused lifecycle action. The API maps `not_found` → 404, `invalid` → 400, the rest → 409. */
export class AlarmError extends Error {
  override name = 'AlarmError';
  constructor(readonly code: AlarmErrorCode, message: string) {
    super(message);
  }
}

// ---------------------------------------------------------------- rules

/** What a rule asks of the engine. The engine turns it into raise / update / clear of one alarm. */
export interface RaiseRequest {
  readonly type: string;
  readonly severity: Severity;
  readonly details: Record<string, unknown>;
  /** Default: the device in context. */
  readonly originator?: AlarmOriginator;
  readonly text?: string;
}

export interface ClearRequest {
  readonly type: string;
  readonly originator?: AlarmOriginator;
  readonly details?: Record<string, unknown>;
}

/** A fire criterion or other rule decision, passed to rules with `onSignal` (the combined fire rule). */
export interface RuleSignal {
  readonly action: 'raise' | 'clear';
  readonly type: string;
  readonly severity?: Severity;
  readonly device: Device;
  readonly ts: number;
}

export interface RuleContext<P, S> {
  /** The time of the reading, presence event or tick being evaluated (epoch ms). Rules never read a clock. */
  readonly now: number;
  readonly device: Device;
  /** This rule's parameters, resolved for this device (code defaults ← kind ← site ← device). */
  readonly params: P;
  /** This rule's persisted state for this device (mutate in place; JSON-compatible values only). */
  readonly state: S;
  /** This rule's persisted state under another scope (a building, a master meter). */
  stateOf<T>(scope: string, init: () => T): T;
  /** Other devices (e.g. the households under a master meter). */
  readonly devices: DeviceView;
  readonly log: Logger;
  raise(request: RaiseRequest): void;
  clear(request: ClearRequest): void;
}

export interface DeviceView {
  get(id: string): Device | undefined;
  list(): Device[];
}

/** Every rule's parameters carry `enabled`. */
export interface RuleParams {
  readonly enabled: boolean;
}

export interface Rule<P extends RuleParams = RuleParams, S = unknown> {
  readonly name: string;
  readonly description: string;
  /** Alarm types this rule may raise. */
  readonly alarmTypes: readonly string[];
  /** Kinds it looks at. */
  readonly kinds: readonly KindName[];
  /** Validates a fully merged parameter object; its defaults are the documented ones. */
  readonly params: z.ZodType<P>;
  readonly defaults: P;
  /** Code-level overrides per kind (e.g. smoke detectors are more urgent when offline). */
  readonly kindDefaults?: Partial<Record<KindName, Partial<P>>>;
  initialState(): S;
  onReading?(ctx: RuleContext<P, S>, reading: Reading): void;
  onTick?(ctx: RuleContext<P, S>): void;
  onPresence?(ctx: RuleContext<P, S>, status: 'online' | 'offline'): void;
  onSignal?(ctx: RuleContext<P, S>, signal: RuleSignal): void;
}
