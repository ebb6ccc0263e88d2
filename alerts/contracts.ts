import type { Logger } from 'pino';
import type { z } from 'zod';
import { CodedError } from '../core/errors.js';
import type { Device, KindName, PresenceCause, Reading } from '../core/index.js';

/**
 * The alerts contracts: the alarm model (ThingsBoard's, made trustworthy), the events notifiers
 * receive, the store that persists both, and the rule interface every file in `rules/` implements.
 * The delivery side (REST, SSE, webhooks, escalation) builds on these only.
 *
 * The model and the AlarmStore live in `storage/alarms/contract.ts` (storage may import only core,
 * and its alarm store needs them); they are re-exported here so alerts/ stays the one import.
 */

export {
  ActiveAlarmConflictError, AlarmChangedError, activeStatuses, alarmEventTypes, alarmKey, alarmStatuses, isActive, severities, severityRank, timelineEvents,
  type Alarm, type AlarmEvent, type AlarmEventInput, type AlarmEventType, type AlarmKey, type AlarmOriginator, type AlarmQuery, type AlarmRecordEntry,
  type AlarmStatus, type AlarmStore, type Severity, type TimelineEntry, type TimelineEventType,
} from '../storage/alarms/contract.js';
import type { AlarmOriginator, Severity } from '../storage/alarms/contract.js';

export const alarmErrorCodes = ['not_found', 'already_acknowledged', 'already_cleared', 'already_escalated', 'not_active', 'invalid'] as const;
export type AlarmErrorCode = (typeof alarmErrorCodes)[number];

/** A refused lifecycle action: `not_found`, `invalid` (an empty comment), or a state that does not allow it (a conflict). */
export class AlarmError extends CodedError {
  override name = 'AlarmError';
  constructor(override readonly code: AlarmErrorCode, message: string) {
    super(code, code === 'not_found' ? 'not_found' : code === 'invalid' ? 'invalid' : 'conflict', message);
  }
}

/** A rules configuration refused by parseRulesConfig, with the path of each mistake inside it (`PUT /api/rules` → 400). */
export class RulesConfigError extends CodedError {
  override name = 'RulesConfigError';
  constructor(readonly issues: ReadonlyArray<{ readonly path: string; readonly message: string }>) {
    super('validation_failed', 'invalid', issues.map((i) => `${i.path || '(root)'}: ${i.message}`).join('; '), { details: issues });
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

/**
 * What a rule sees for one evaluation. Valid only during the call it is passed to: the engine reuses
 * one per rule (a rule that kept it would see the next device's), so keep values, not the context.
 */
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
  /** Broker presence; `cause` says how a connection ended (core/registry.ts presenceCauses). */
  onPresence?(ctx: RuleContext<P, S>, status: 'online' | 'offline', cause: PresenceCause): void;
  onSignal?(ctx: RuleContext<P, S>, signal: RuleSignal): void;
}
