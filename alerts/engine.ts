import { randomUUID } from 'node:crypto';
import type { Logger } from 'pino';
import type { Registry } from 'prom-client';
import { z } from 'zod';
import type { Reading } from '../core/index.js';
import type { Page } from '../storage/state/contract.js';
import { createParamResolver, parseRulesConfig, type AlertEngineConfig, type RulesConfig } from './config.js';
import {
  ActiveAlarmConflictError, activeStatuses, AlarmError, RulesConfigError, alarmKey, isActive, type Alarm, type AlarmEvent, type AlarmOriginator,
  type AlarmQuery, type AlarmStore, type ClearRequest, type DeviceView, type RaiseRequest, type Rule,
} from './contracts.js';
import { createEvaluator, type PendingAction } from './evaluate.js';
import {
  ackAlarm, assignAlarm, clearAlarm, commentAlarm, escalateAlarm, raiseAlarm, repeatAlarm, type Transition,
} from './lifecycle.js';
import { createAlertMetrics } from './metrics.js';
import { createRuleStateTable } from './rule-state.js';
import { builtinRules } from './rules/index.js';

export interface AlertEngineDeps {
  store: AlarmStore;
  devices: DeviceView;
  logger: Logger;
  metrics: Registry;
  /** Time of human actions (ack, assign, ...). Rule decisions use the reading's / tick's time. */
  clock: () => number;
  /** Default: every built-in rule. */
  rules?: Readonly<Record<string, Rule>>;
  newId?: () => string;
}

export type AlarmListener = (event: AlarmEvent) => void;

/** The alerts part, as the composition root and the delivery side use it. */
export interface AlertEngine {
  /** ReadingConsumer-compatible: resolves once the alarms these readings caused are stored and published. */
  readonly name: string;
  accept(readings: readonly Reading[]): Promise<void>;
  /** Broker presence (`devices/{id}/status`, LWT). */
  onPresence(deviceId: string, status: 'online' | 'offline', ts: number): Promise<void>;
  /** Time-driven checks (offline, daily balance). Call every ~30–60 s. */
  tick(now: number): Promise<void>;
  ack(id: string, actor: string): Promise<Alarm>;
  assign(id: string, assignee: string, actor: string): Promise<Alarm>;
  comment(id: string, actor: string, text: string): Promise<Alarm>;
  clear(id: string, actor: string): Promise<Alarm>;
  /** For the escalation scheduler: one level up, only while active and unacknowledged. */
  escalate(id: string, actor: string, text?: string): Promise<Alarm>;
  get(id: string): Promise<Alarm | undefined>;
  list(query: AlarmQuery): Promise<Page<Alarm>>;
  /** Alarms active right now, from memory. */
  active(): Alarm[];
  /** Listeners run synchronously after each event is stored, in seq order; a throwing listener is logged. */
  subscribe(listener: AlarmListener): () => void;
  /** Stored events after `seq` (SSE `Last-Event-ID` replay). */
  eventsSince(seq: number, limit?: number): Promise<AlarmEvent[]>;
  /** The rules configuration in force (`GET /api/rules`). */
  rulesConfig(): RulesConfig;
  /**
   * Validates (parseRulesConfig; refused with RulesConfigError naming the path), persists, then applies a new rules
   * configuration to every later evaluation (`PUT /api/rules`). Rule state is kept.
   */
  setRulesConfig(input: unknown): Promise<RulesConfig>;
  /** Loads rule state and active alarms. */
  start(): Promise<void>;
  /** Resolves when everything queued so far is done. */
  idle(): Promise<void>;
  /** Finishes queued work and persists rule state; the store stays open (its owner closes it). */
  close(): Promise<void>;
}

/**
 * The rule engine and alarm lifecycle. Rules run synchronously per reading; their decisions and
 * every human action go through one queue, so for each (originator, type) there is exactly one
 * active alarm however many triggers arrive in the same millisecond, and event seq order equals
 * decision order. The store refuses a second active alarm per key on its own as well.
 */
export function createAlertEngine(config: AlertEngineConfig, deps: AlertEngineDeps): AlertEngine {
  const rules = deps.rules ?? builtinRules;
  const log = deps.logger.child({ part: 'alerts' });
  let rulesConfig = parseRulesConfig(config.rules, rules);
  // Swapped whole by setRulesConfig; evaluation is synchronous, so a reading sees one config or the other.
  let paramsFor = createParamResolver(rulesConfig, rules);
  const applyRules = (c: RulesConfig) => {
    rulesConfig = c;
    paramsFor = createParamResolver(c, rules);
  };
  const metrics = createAlertMetrics(deps.metrics);
  const state = createRuleStateTable({ store: deps.store, logger: log, flushMs: config.stateFlushMs });
  const evaluator = createEvaluator({ rules, paramsFor: (rule, device) => paramsFor(rule, device), state, devices: deps.devices, logger: log, metrics });
  const newId = deps.newId ?? randomUUID;
  const listeners = new Set<AlarmListener>();
  const active = new Map<string, Alarm>();
  const activeKeyById = new Map<string, string>();
  let tail: Promise<unknown> = Promise.resolve();
  let started = false;
  let closed = false;

  const enqueue = <T>(job: () => Promise<T>): Promise<T> => {
    const next = tail.then(job);
    tail = next.catch(() => undefined);
    return next;
  };
  const ensureOpen = () => {
    if (!started) throw new Error('alert engine not started: call start() first');
    if (closed) throw new Error('alert engine is closed');
  };

  const keyOf = (a: Alarm) => alarmKey({ originator: a.originator, type: a.type, site: a.site });
  function remember(a: Alarm): void {
    const key = keyOf(a);
    if (isActive(a.status)) {
      active.set(key, a);
      activeKeyById.set(a.id, key);
    } else if (active.get(key)?.id === a.id) {
      active.delete(key);
      activeKeyById.delete(a.id);
    }
  }

  async function commit(t: Transition, ts: number): Promise<AlarmEvent> {
    const ev = await deps.store.record(t.alarm, { type: t.event, ts, ...(t.previousSeverity ? { previousSeverity: t.previousSeverity } : {}) });
    remember(t.alarm);
    if (t.event === 'raised') metrics.raised(t.alarm);
    metrics.setActive(active.values());
    for (const l of listeners) {
      try {
        l(ev);
      } catch (err) {
        log.error({ err, seq: ev.seq }, 'alarm listener failed');
      }
    }
    return ev;
  }

  function placeOf(a: PendingAction): { originator: AlarmOriginator; site: string; building: string } {
    const originator = a.request.originator ?? { kind: 'device' as const, id: a.device.id };
    return { originator, site: a.device.site, building: a.device.building };
  }

  async function apply(a: PendingAction): Promise<void> {
    const place = placeOf(a);
    const key = alarmKey({ originator: place.originator, type: a.request.type, site: place.site });
    const actor = `rule:${a.rule}`;
    const current = active.get(key);
    if (a.op === 'clear') {
      if (current) await commit(clearAlarm(current, a.ts, actor, (a.request as ClearRequest).details), a.ts);
      return;
    }
    const request = a.request as RaiseRequest;
    if (current) {
      await commit(repeatAlarm(current, request, a.ts, actor), a.ts);
      return;
    }
    try {
      await commit(raiseAlarm({ id: newId(), ...place, request, ts: a.ts, actor }), a.ts);
    } catch (err) {
      if (!(err instanceof ActiveAlarmConflictError)) throw err;
      // Another writer (a second hub on a shared store) holds the key: repeat onto its alarm.
      const theirs = await deps.store.findActive({ originator: place.originator, type: request.type, site: place.site });
      if (!theirs) throw err;
      await commit(repeatAlarm(theirs, request, a.ts, actor), a.ts);
    }
  }

  function schedule(actions: readonly PendingAction[]): Promise<void> {
    state.touch();
    if (actions.length === 0) return Promise.resolve();
    return enqueue(async () => {
      for (const a of actions) {
        try {
          await apply(a);
        } catch (err) {
          // The rule's next repeat retries; the store being down must not wedge the queue.
          log.error({ err, rule: a.rule, device: a.device.id, type: a.request.type }, 'alarm decision could not be stored');
        }
      }
    });
  }

  /** Out-of-order readings are not evaluated (windows and rates assume time moves forward). */
  function inOrder(device: string, ts: number): boolean {
    const last = state.get<{ ts: number }>(`engine/last/${device}`, () => ({ ts }));
    if (ts < last.ts) return false;
    last.ts = ts;
    return true;
  }

  async function act(id: string, ts: number, change: (a: Alarm) => Transition): Promise<Alarm> {
    ensureOpen();
    return enqueue(async () => {
      const key = activeKeyById.get(id);
      const current = (key ? active.get(key) : undefined) ?? (await deps.store.get(id));
      if (!current) throw new AlarmError('not_found', `no alarm ${id}`);
      const t = change(current);
      await commit(t, ts);
      return t.alarm;
    });
  }

  return {
    name: 'alerts',
    accept(readings) {
      ensureOpen();
      const actions: PendingAction[] = [];
      for (const r of readings) {
        const device = deps.devices.get(r.device);
        if (!device) continue;
        if (!inOrder(device.id, r.ts)) {
          log.debug({ device: r.device, ts: r.ts }, 'reading older than the last evaluated one: not evaluated');
          continue;
        }
        actions.push(...evaluator.reading(device, r));
      }
      return schedule(actions);
    },
    onPresence(deviceId, status, ts) {
      ensureOpen();
      const device = deps.devices.get(deviceId);
      return device ? schedule(evaluator.presence(device, status, ts)) : Promise.resolve();
    },
    tick(now) {
      ensureOpen();
      return schedule(evaluator.tick(deps.devices.list(), now));
    },
    ack: (id, actor) => {
      const ts = deps.clock();
      return act(id, ts, (a) => ackAlarm(a, ts, actor));
    },
    assign: (id, assignee, actor) => {
      const ts = deps.clock();
      return act(id, ts, (a) => assignAlarm(a, assignee, ts, actor));
    },
    comment: (id, actor, text) => {
      const ts = deps.clock();
      return act(id, ts, (a) => commentAlarm(a, text, ts, actor));
    },
    clear: (id, actor) => {
      const ts = deps.clock();
      return act(id, ts, (a) => clearAlarm(a, ts, actor));
    },
    escalate: (id, actor, text) => {
      const ts = deps.clock();
      return act(id, ts, (a) => escalateAlarm(a, ts, actor, text));
    },
    get: (id) => deps.store.get(id),
    list: (query) => deps.store.list(query),
    active: () => [...active.values()],
    subscribe(listener) {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
    eventsSince: (seq, limit) => deps.store.eventsSince(seq, limit),
    rulesConfig: () => rulesConfig,
    async setRulesConfig(input) {
      ensureOpen();
      let parsed: RulesConfig;
      try {
        parsed = parseRulesConfig(input, rules);
      } catch (err) {
        if (err instanceof z.ZodError) throw new RulesConfigError(err.issues.map((i) => ({ path: i.path.join('.'), message: i.message })));
        // parseRulesConfig's own refusals read `<path>: <message>`.
        const m = /^(\S+): ([\s\S]*)$/.exec((err as Error).message);
        throw new RulesConfigError([{ path: m?.[1] ?? '', message: m?.[2] ?? (err as Error).message }]);
      }
      // Through the queue: concurrent PUTs are stored and applied in the same order.
      return enqueue(async () => {
        await deps.store.saveRulesConfig(parsed);
        applyRules(parsed);
        log.info({ sites: Object.keys(parsed.sites).length, devices: Object.keys(parsed.devices).length }, 'rules configuration replaced');
        return parsed;
      });
    },
    async start() {
      if (started) return;
      await state.load();
      const saved = await deps.store.loadRulesConfig();
      if (saved !== undefined) {
        // A configuration saved through the API outlives restarts and wins over the start-up one.
        // One that no longer validates (a rule renamed by an upgrade) must not stop the fire rules:
        // it is logged and the start-up configuration runs until the next PUT replaces it.
        try {
          applyRules(parseRulesConfig(saved, rules));
        } catch (err) {
          log.error({ err }, 'stored rules configuration is invalid; running with the start-up configuration until PUT /api/rules replaces it');
        }
      }
      for (let offset = 0; ; offset += 1_000) {
        const page = await deps.store.list({ status: activeStatuses, limit: 1_000, offset });
        for (const a of page.items) remember(a);
        if (page.items.length < 1_000) break;
      }
      metrics.setActive(active.values());
      started = true;
      log.info({ rules: Object.keys(rules).length, active: active.size }, 'alert engine started');
    },
    idle: () => tail.then(() => undefined),
    async close() {
      if (closed || !started) return;
      closed = true;
      await tail;
      await state.close();
      log.info({ active: active.size }, 'alert engine closed; rule state persisted');
    },
  };
}

