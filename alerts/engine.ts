import { randomUUID } from 'node:crypto';
import type { Logger } from 'pino';
import type { Registry } from 'prom-client';
import { createSerialQueue } from '../core/util/index.js';
import type { PresenceCause, Reading } from '../core/index.js';
import type { Page } from '../core/index.js';
import { createParamResolver, parseRulesConfig, type AlertEngineConfig, type RulesConfig } from './config.js';
import { createAlarmWriter, type DecidedView } from './alarm-writer.js';
import {
  activeStatuses, AlarmError, alarmKey, isActive, type Alarm, type AlarmEvent, type AlarmOriginator,
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
  /** Most events per store transaction (group commit). Default 1,000. */
  maxEventsPerCommit?: number;
  /**
   * Which devices `tick` runs the time-driven checks of (silence, hold durations). Default: every
   * registered device. Cluster mode: only those this node holds — a device connected to another node
   * is silent from here, and timing it here would raise an `offline` no reading here could clear.
   */
  ticks?: (deviceId: string) => boolean;
}

export type AlarmListener = (event: AlarmEvent) => void;

/** The alerts part, as the composition root and the delivery side use it. */
export interface AlertEngine {
  /** ReadingConsumer-compatible: resolves once the alarms these readings caused are stored and published. */
  readonly name: string;
  accept(readings: readonly Reading[]): Promise<void>;
  /**
   * Broker presence (`devices/{id}/status`), with how the connection ended: the embedded broker
   * knows (clean DISCONNECT, keep-alive timeout, lost); from an external broker's status topic
   * only the Will is seen, so the default is `lost`. `ts` is the server's time.
   */
  onPresence(deviceId: string, status: 'online' | 'offline', ts: number, cause?: PresenceCause): Promise<void>;
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
  /**
   * The active alarms as stored and the seq of the last alarm event they include, read together: a
   * client that shows their counts and then paints live events adds only the events after `seq`.
   */
  activeAsOf(): { alarms: Alarm[]; seq: number };
  /** Listeners run synchronously after each event is stored, in seq order; a throwing listener is logged. */
  subscribe(listener: AlarmListener): () => void;
  /** Stored events after `seq` (SSE `Last-Event-ID` replay). */
  eventsSince(seq: number, limit?: number): Promise<AlarmEvent[]>;
  /** The rules configuration in force (`GET /api/rules`). */
  rulesConfig(): RulesConfig;
  /** A rule's parameters in force for a device (its site's, kind's and own settings); undefined for an unknown device or rule. */
  ruleParams(rule: string, deviceId: string): Readonly<Record<string, unknown>> | undefined;
  /**
   * Validates (parseRulesConfig; refused with RulesConfigError naming the path), persists, then applies a new rules
   * configuration to every later evaluation (`PUT /api/rules`). Rule state is kept.
   */
  setRulesConfig(input: unknown): Promise<RulesConfig>;
  /**
   * Read-modify-write of the configuration in the engine's queue: `change` sees the configuration in
   * force after every earlier change was applied (a whole-config PUT and a site edit at once cannot
   * lose either), and may throw to refuse; its result is validated, persisted and applied as by
   * `setRulesConfig`.
   */
  updateRulesConfig(change: (current: RulesConfig) => unknown): Promise<RulesConfig>;
  /**
   * Cluster: a device that connected here after another node held it. Its rule state (windows, holds,
   * dose, last seen) and its active alarms are read from the store — as the node it left wrote them —
   * before any reading or presence change of it is evaluated here, so a rate of rise or a hold that
   * began on the other node goes on here, and its alarms clear here when its rules say so.
   */
  takeOver(deviceId: string): Promise<void>;
  /** Cluster: a device now held by another node: its rule state is written now and leaves memory, with its alarms. */
  release(deviceId: string): Promise<void>;
  /** Loads rule state and active alarms. */
  start(): Promise<void>;
  /** Resolves when everything queued so far is done (readings and presence waiting for a device's take-over are not queued yet). */
  idle(): Promise<void>;
  /**
   * Lets take-overs in progress finish (at most 5 s) and what waited for them be evaluated, then
   * finishes queued work and persists rule state; the store stays open (its owner closes it).
   */
  close(): Promise<void>;
}

/** How long close() waits for device take-overs still reading the store (a store that hangs must not hold a shutdown up). */
const CLOSE_WAIT_MS = 5_000;

/**
 * The rule engine and alarm lifecycle. Rules run synchronously per reading; their decisions and
 * every human action go through one queue, so for each (originator, type) there is exactly one
 * active alarm however many triggers arrive in the same millisecond, and event seq order equals
 * decision order. The store refuses a second active alarm per key on its own as well.
 *
 * Decisions are taken against the in-memory view (the authoritative one: the active alarms and
 * the versions still on their way to the store), synchronously, so deciding never waits for the
 * store. Each decision's event goes to the write-behind group commit (alarm-writer.ts), which
 * stores it, then hands it to the listeners, and rolls the view back when the store refuses it.
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
  /** Runs in the queue: stores, then applies, so a configuration in force is always one that was saved. */
  const replaceRules = async (parsed: RulesConfig): Promise<RulesConfig> => {
    await deps.store.saveRulesConfig(parsed);
    applyRules(parsed);
    log.info({ sites: Object.keys(parsed.sites).length, devices: Object.keys(parsed.devices).length }, 'rules configuration replaced');
    return parsed;
  };
  const metrics = createAlertMetrics(deps.metrics);
  const state = createRuleStateTable({ store: deps.store, logger: log, flushMs: config.stateFlushMs });
  const evaluator = createEvaluator({ rules, paramsFor: (rule, device) => paramsFor(rule, device), state, devices: deps.devices, logger: log, metrics });
  const newId = deps.newId ?? randomUUID;
  const listeners = new Set<AlarmListener>();
  /** Decided view: the active alarm per key, including decisions not stored yet. */
  const active = new Map<string, Alarm>();
  const activeKeyById = new Map<string, string>();
  /** Stored view: the active alarm per key as last committed (where a failed write returns to). */
  const storedActive = new Map<string, Alarm>();
  /** Latest decided version of alarms with events still queued or in flight (ack of a just-cleared alarm). */
  const unstored = new Map<string, { alarm: Alarm; n: number }>();
  const jobs = createSerialQueue();
  let started = false;
  let closed = false;

  const enqueue = <T>(job: () => Promise<T>): Promise<T> => jobs.run(job);
  /** Devices being taken over from another node: their readings and presence wait for their state. */
  const arriving = new Map<string, Promise<void>>();
  /** What of the rule state is a device's own (evaluate.ts keys): each rule's device entry, and the engine's last evaluated time. */
  const deviceKeys = (id: string): string[] => [...Object.keys(rules).map((name) => `${name}/device/${id}`), `engine/last/${id}`];
  const ofDevice = (id: string) => (a: Alarm) => a.originator.kind === 'device' && a.originator.id === id;
  /** Take-overs and releases of one device, one after the other (a device that leaves and comes straight back). */
  const deviceOps = new Map<string, Promise<void>>();
  function inTurn(id: string, op: () => Promise<void>): Promise<void> {
    const next = (deviceOps.get(id) ?? Promise.resolve()).catch(() => undefined).then(op);
    deviceOps.set(id, next);
    void next.catch(() => undefined).finally(() => {
      if (deviceOps.get(id) === next) deviceOps.delete(id);
    });
    return next;
  }
  /** Until no take-over or release is in progress, and what waited for them (readings, presence) is queued. */
  async function settleDeviceOps(): Promise<void> {
    while (deviceOps.size > 0 || arriving.size > 0) {
      await Promise.allSettled([...deviceOps.values(), ...arriving.values()]);
      // The readings and presence that waited continue in the callbacks after these: let them queue.
      await new Promise<void>((r) => setImmediate(r));
    }
  }
  const ensureOpen = () => {
    if (!started) throw new Error('alert engine not started: call start() first');
    if (closed) throw new Error('alert engine is closed');
  };

  const keyOf = (a: Alarm) => alarmKey({ originator: a.originator, type: a.type, site: a.site });
  function remember(a: Alarm): void {
    const key = keyOf(a);
    if (isActive(a.status)) {
      const before = active.get(key);
      if (before && before.id !== a.id) activeKeyById.delete(before.id);
      active.set(key, a);
      activeKeyById.set(a.id, key);
    } else if (active.get(key)?.id === a.id) {
      active.delete(key);
      activeKeyById.delete(a.id);
    }
  }
  function rememberStored(a: Alarm): void {
    const key = keyOf(a);
    if (isActive(a.status)) storedActive.set(key, a);
    else if (storedActive.get(key)?.id === a.id) storedActive.delete(key);
  }
  /** The newest decided version of an alarm known in memory (active, or with events not stored yet). */
  function latest(id: string): Alarm | undefined {
    const key = activeKeyById.get(id);
    return (key ? active.get(key) : undefined) ?? unstored.get(id)?.alarm;
  }

  /** Whether this node decided about the alarm after `a` was read: a decision still queued, or one stored at a later revision. */
  function decidedSince(a: Alarm): boolean {
    if (unstored.has(a.id)) return true;
    const mine = writer.storedRevision(a.id);
    return mine !== undefined && (a.rev === undefined || mine > a.rev);
  }

  /** What the writer sees of the view: it applies decisions, and rolls a refused one back. */
  const view: DecidedView = {
    decided(a) {
      remember(a);
      const u = unstored.get(a.id);
      unstored.set(a.id, { alarm: a, n: (u?.n ?? 0) + 1 });
    },
    settled(a) {
      const u = unstored.get(a.id);
      if (u && --u.n <= 0) unstored.delete(a.id);
    },
    stored(a) {
      rememberStored(a);
      // The decided version in memory is this one or one built on it: it carries at least this revision.
      const key = activeKeyById.get(a.id);
      const cur = key === undefined ? undefined : active.get(key);
      if (key !== undefined && cur?.id === a.id && (cur.rev === undefined || (a.rev !== undefined && cur.rev < a.rev))) active.set(key, { ...cur, rev: a.rev });
    },
    rollBack(a) {
      // Back to what is stored, where memory shows this alarm's failed version (or what was decided on top of it).
      const key = keyOf(a);
      const now = active.get(key);
      const stored = storedActive.get(key);
      if (now?.id === a.id || (!now && stored?.id === a.id)) {
        if (now) {
          active.delete(key);
          activeKeyById.delete(a.id);
        }
        if (stored) remember(stored);
      }
    },
    hasActive: (a) => active.has(keyOf(a)),
    adopt(a) {
      rememberStored(a);
      remember(a);
    },
  };
  /** The last alarm event seq the in-memory view includes: the store's at start, then each one published. */
  let lastPublishedSeq = 0;
  const writer = createAlarmWriter({ maxEventsPerCommit: deps.maxEventsPerCommit }, {
    store: deps.store, view, logger: log, metrics: deps.metrics,
    afterGroup: () => metrics.setActive(active.values()),
    publish(ev) {
      if (ev.seq > lastPublishedSeq) lastPublishedSeq = ev.seq;
      if (ev.type === 'raised') metrics.raised(ev.alarm);
      for (const l of listeners) {
        try {
          l(ev);
        } catch (err) {
          log.error({ err, seq: ev.seq }, 'alarm listener failed');
        }
      }
    },
  });
  const submit = writer.submit;

  function placeOf(a: PendingAction): { originator: AlarmOriginator; site: string; building: string } {
    const originator = a.request.originator ?? { kind: 'device' as const, id: a.device.id };
    return { originator, site: a.device.site, building: a.device.building };
  }

  /** Decides one rule action against the in-memory view; the returned promise settles once it is stored and published. */
  function decide(a: PendingAction): Promise<unknown> | undefined {
    const place = placeOf(a);
    const key = alarmKey({ originator: place.originator, type: a.request.type, site: place.site });
    const actor = `rule:${a.rule}`;
    const current = active.get(key);
    // Each decision with how to take it again on the alarm as another node stored it (alarm-writer.ts Redo).
    if (a.op === 'clear') {
      const details = (a.request as ClearRequest).details;
      const clear = (cur: Alarm) => (isActive(cur.status) ? clearAlarm(cur, a.ts, actor, details) : undefined);
      return current ? submit(clearAlarm(current, a.ts, actor, details), a.ts, clear) : undefined;
    }
    const request = a.request as RaiseRequest;
    // Cleared meanwhile (by a person, through another node): the condition still holds, so a new alarm, as here after a clear.
    const raise = () => raiseAlarm({ id: newId(), ...place, request, ts: a.ts, actor });
    const repeat = (cur: Alarm) => (isActive(cur.status) ? repeatAlarm(cur, request, a.ts, actor) : raise());
    return submit(current ? repeatAlarm(current, request, a.ts, actor) : raise(), a.ts, repeat);
  }

  function schedule(actions: readonly PendingAction[]): Promise<void> {
    state.touch();
    if (actions.length === 0) return Promise.resolve();
    const logFailure = (a: PendingAction) => (err: unknown) => {
      // The rule's next repeat retries; the store being down must not wedge the queue.
      log.error({ err, rule: a.rule, device: a.device.id, type: a.request.type }, 'alarm decision could not be stored');
    };
    // Deciding is quick and in order (the queue); storing and publishing are awaited outside it, so
    // the next decisions join the group commit in flight instead of waiting for it.
    return enqueue(async () => ({
      done: actions.map((a) => {
        try {
          return decide(a)?.catch(logFailure(a));
        } catch (err) {
          logFailure(a)(err);
          return undefined;
        }
      }),
    })).then(async ({ done }) => {
      await Promise.all(done);
    });
  }

  /** Out-of-order readings are not evaluated (windows and rates assume time moves forward). */
  const lastKeys = new Map<string, string>();
  function inOrder(device: string, ts: number): boolean {
    let key = lastKeys.get(device);
    if (key === undefined) lastKeys.set(device, (key = `engine/last/${device}`));
    const last = state.get<{ ts: number }>(key, () => ({ ts }));
    if (ts < last.ts) return false;
    last.ts = ts;
    return true;
  }

  async function act(id: string, ts: number, change: (a: Alarm) => Transition): Promise<Alarm> {
    ensureOpen();
    const { t, done } = await enqueue(async () => {
      const current = latest(id) ?? (await deps.store.get(id));
      if (!current) throw new AlarmError('not_found', `no alarm ${id}`);
      const next = change(current);
      // Refused because another node changed the alarm since: the person's action is checked and taken again on it.
      return { t: next, done: submit(next, ts, change) };
    });
    return (await done)?.alarm ?? t.alarm;
  }

  const api: AlertEngine = {
    name: 'alerts',
    accept(readings) {
      ensureOpen();
      // A device being taken over: its readings wait for its state (in order: each waits on the same
      // take-over); every other device's are evaluated now.
      if (arriving.size > 0 && readings.some((r) => arriving.has(r.device))) {
        const later = new Map<string, Reading[]>();
        const now: Reading[] = [];
        for (const r of readings) {
          if (arriving.has(r.device)) (later.get(r.device) ?? later.set(r.device, []).get(r.device)!).push(r);
          else now.push(r);
        }
        return Promise.all([
          ...(now.length > 0 ? [api.accept(now)] : []),
          ...[...later].map(([id, rs]) => arriving.get(id)!.then(() => api.accept(rs))),
        ]).then(() => undefined);
      }
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
    onPresence(deviceId, status, ts, cause) {
      ensureOpen();
      const wait = arriving.get(deviceId);
      if (wait) return wait.then(() => api.onPresence(deviceId, status, ts, cause));
      const device = deps.devices.get(deviceId);
      return device ? schedule(evaluator.presence(device, status, ts, cause ?? (status === 'online' ? 'connected' : 'lost'))) : Promise.resolve();
    },
    tick(now) {
      ensureOpen();
      const scope = deps.ticks;
      const devices = deps.devices.list();
      return schedule(evaluator.tick(scope ? devices.filter((d) => scope(d.id)) : devices, now));
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
    // The stored view, not the decided one: a decision not yet stored has no seq, and counting it would
    // count it again when its event arrives. Both follow each event in the same synchronous step.
    activeAsOf: () => ({ alarms: [...storedActive.values()], seq: lastPublishedSeq }),
    subscribe(listener) {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
    eventsSince: (seq, limit) => deps.store.eventsSince(seq, limit),
    rulesConfig: () => rulesConfig,
    ruleParams(rule, deviceId) {
      const device = deps.devices.get(deviceId);
      if (!device || !Object.hasOwn(rules, rule)) return undefined;
      try {
        return paramsFor(rule, device) as unknown as Readonly<Record<string, unknown>>;
      } catch {
        return undefined;
      }
    },
    async setRulesConfig(input) {
      ensureOpen();
      const parsed = parseRulesConfig(input, rules);
      // Through the queue: concurrent PUTs are stored and applied in the same order.
      return enqueue(() => replaceRules(parsed));
    },
    async updateRulesConfig(change) {
      ensureOpen();
      // Reading the current configuration inside the queue is what makes the edit atomic.
      return enqueue(() => replaceRules(parseRulesConfig(change(rulesConfig), rules)));
    },
    takeOver(deviceId) {
      ensureOpen();
      const keys = deviceKeys(deviceId);
      // Read outside the queue (a reconnect storm must not hold every other device's decisions up);
      // applied in it; after any release of the same device still in progress.
      const loading = inTurn(deviceId, async () => {
        const [loaded, stored] = await Promise.all([
          deps.store.loadRuleState(keys), deps.store.list({ originatorId: deviceId, status: activeStatuses, limit: 1_000, offset: 0 }),
        ]);
        // What memory still shows active for it that the store no longer does (cleared on another node): as stored.
        const ids = new Set(stored.items.map((a) => a.id));
        const gone = await Promise.all([...active.values()].filter((a) => ofDevice(deviceId)(a) && !ids.has(a.id)).map((a) => deps.store.get(a.id)));
        await enqueue(async () => {
          state.take(keys, loaded);
          // Not a copy older than what this node decided about it since the read (a person's clear or
          // acknowledgement here): adopted, it showed the alarm active again, and the rule's next repeat
          // wrote it back over the clear.
          for (const a of [...stored.items, ...gone]) if (a && !decidedSince(a)) view.adopt(a);
          metrics.setActive(active.values());
        });
        log.debug({ device: deviceId, keys: loaded.size, alarms: stored.items.length }, 'device taken over from another node');
      });
      // Its readings and presence wait for it, and run even if it failed (on what memory holds).
      const done: Promise<void> = loading.catch(() => undefined).finally(() => {
        if (arriving.get(deviceId) === done) arriving.delete(deviceId);
      });
      arriving.set(deviceId, done);
      return loading;
    },
    release(deviceId) {
      ensureOpen();
      // Its decisions stored and its state written (the node that has it now reads both), then out of memory.
      return inTurn(deviceId, async () => {
        await writer.written();
        await state.flush();
        await enqueue(async () => {
          state.forget(deviceKeys(deviceId));
          for (const a of [...active.values()].filter(ofDevice(deviceId))) {
            const key = activeKeyById.get(a.id);
            if (key === undefined) continue;
            active.delete(key);
            activeKeyById.delete(a.id);
            storedActive.delete(key);
          }
          metrics.setActive(active.values());
        });
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
        for (const a of page.items) {
          remember(a);
          rememberStored(a);
        }
        if (page.items.length < 1_000) break;
      }
      // Nothing of this node's is stored before it has started; with several nodes the overview uses
      // the cluster's view (alerts/active-view.ts), not this one.
      lastPublishedSeq = Math.max(lastPublishedSeq, await deps.store.lastSeq());
      metrics.setActive(active.values());
      started = true;
      log.info({ rules: Object.keys(rules).length, active: active.size }, 'alert engine started');
    },
    async idle() {
      // Not the readings and presence waiting for a device's take-over: they are not queued yet (close() waits for them).
      await jobs.idle();
      await writer.written();
    },
    async close() {
      if (closed || !started) return;
      // Take-overs and releases first: the readings and presence waiting for a take-over are evaluated
      // (closed first, they were refused and lost), and a release's state is written.
      let timer: NodeJS.Timeout | undefined;
      const bounded = new Promise<void>((r) => { timer = setTimeout(r, CLOSE_WAIT_MS); });
      await Promise.race([settleDeviceOps(), bounded]);
      clearTimeout(timer);
      if (deviceOps.size > 0 || arriving.size > 0) log.warn({ devices: deviceOps.size + arriving.size }, 'alert engine closing with device take-overs still reading the store');
      closed = true;
      await jobs.idle();
      await writer.written();
      await state.close();
      log.info({ active: active.size }, 'alert engine closed; rule state persisted');
    },
  };
  return api;
}
