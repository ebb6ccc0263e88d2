import type { Logger } from 'pino';
import { Counter, Histogram, type Registry } from 'prom-client';
import { getOrCreateMetric } from '../core/util/index.js';
import { ActiveAlarmConflictError, type Alarm, type AlarmEvent, type AlarmRecordEntry, type AlarmStore, type RaiseRequest } from './contracts.js';
import { repeatAlarm, type Transition } from './lifecycle.js';

/**
 * What the writer needs from the engine's in-memory view: the decided view (active alarm per key,
 * including decisions not stored yet) and the stored view (as last committed) it returns to.
 */
export interface DecidedView {
  /** A decision was taken: memory shows it from now on, before it is stored. */
  decided(alarm: Alarm): void;
  /** One event of this alarm left the queue (stored, dropped or refused). */
  settled(alarm: Alarm): void;
  /** Stored: the stored view follows. */
  stored(alarm: Alarm): void;
  /** Refused: where memory shows this alarm's failed version, its key goes back to what is stored. */
  rollBack(alarm: Alarm): void;
  /** Whether memory holds a decided active alarm for this alarm's key. */
  hasActive(alarm: Alarm): boolean;
  /** Another writer's active alarm, found in the store: both views take it. */
  adopt(alarm: Alarm): void;
}

/** For a rule's raise: repeated onto the other writer's alarm if the store holds the key already. */
export interface RaiseRetry {
  readonly request: RaiseRequest;
  readonly actor: string;
}

export interface AlarmWriter {
  /** A decision: applied to the view now, stored by the writer, then published; settles once published (or refused). */
  submit(t: Transition, ts: number, raise?: RaiseRetry): Promise<AlarmEvent>;
  /** Resolves once every event submitted so far is stored (or dropped) and published. */
  written(): Promise<void>;
}

export interface AlarmWriterDeps {
  store: AlarmStore;
  view: DecidedView;
  /** Hands a stored event to the listeners, synchronously, in seq order. */
  publish(event: AlarmEvent): void;
  /** After each group is written (the active-alarm gauges). */
  afterGroup(): void;
  logger: Logger;
  metrics: Registry;
}

interface Pending {
  readonly t: Transition;
  readonly ts: number;
  readonly raise?: RaiseRetry;
  dropped: boolean;
  resolve(ev: AlarmEvent): void;
  reject(err: unknown): void;
}

/**
 * The engine's write-behind: each decision's event joins a queue; the writer stores the queue as
 * one group commit (`AlarmStore.recordMany`: every event decided while the previous commit was in
 * flight, in one transaction, seqs in decision order), and only then hands the events to the
 * listeners, in seq order — an event is always stored before anyone sees it. A group the store
 * refuses is retried event by event; an event that cannot be stored is dropped with the later
 * queued events of the same alarm (which were decided on top of it), its key in memory returns to
 * the last stored version, and the rule's next repeat decides again.
 */
export function createAlarmWriter(config: { maxEventsPerCommit?: number }, deps: AlarmWriterDeps): AlarmWriter {
  const { view, logger: log } = deps;
  const storeCommits = getOrCreateMetric(deps.metrics, 'anju_alarm_store_commits_total', () => new Counter({
    name: 'anju_alarm_store_commits_total', help: 'Alarm store transactions for alarm events (group commits; a refused group is retried event by event)', labelNames: ['outcome'], registers: [deps.metrics],
  }));
  const eventsPerCommit = getOrCreateMetric(deps.metrics, 'anju_alarm_store_events_per_commit', () => new Histogram({
    name: 'anju_alarm_store_events_per_commit', help: 'Alarm events written per committed alarm store transaction', buckets: [1, 2, 5, 10, 20, 50, 100, 200, 500, 1000], registers: [deps.metrics],
  }));
  const maxPerCommit = Math.max(1, config.maxEventsPerCommit ?? 1_000);
  const queue: Pending[] = [];
  let writing: Promise<void> | undefined;

  const entryOf = (p: Pending): AlarmRecordEntry => ({
    alarm: p.t.alarm, event: { type: p.t.event, ts: p.ts, ...(p.t.previousSeverity ? { previousSeverity: p.t.previousSeverity } : {}) },
  });

  function submit(t: Transition, ts: number, raise?: RaiseRetry): Promise<AlarmEvent> {
    view.decided(t.alarm);
    return new Promise<AlarmEvent>((resolve, reject) => {
      queue.push({ t, ts, ...(raise ? { raise } : {}), dropped: false, resolve, reject });
      writing ??= drain();
    });
  }

  async function drain(): Promise<void> {
    // Let the decisions of the current turn (one accept's actions, concurrent accepts) join the group.
    await Promise.resolve();
    try {
      while (queue.length > 0) {
        const group = queue.splice(0, maxPerCommit).filter((p) => !p.dropped);
        if (group.length > 0) await writeGroup(group);
        deps.afterGroup();
      }
    } finally {
      writing = undefined;
    }
  }

  async function store(entries: readonly AlarmRecordEntry[]): Promise<AlarmEvent[]> {
    try {
      const out = await deps.store.recordMany(entries);
      storeCommits.inc({ outcome: 'committed' });
      eventsPerCommit.observe(entries.length);
      return out;
    } catch (err) {
      storeCommits.inc({ outcome: 'failed' });
      throw err;
    }
  }

  async function writeGroup(group: Pending[]): Promise<void> {
    let events: AlarmEvent[] | undefined;
    try {
      events = await store(group.map(entryOf));
    } catch (err) {
      if (group.length === 1) {
        await failed(group[0]!, err, group);
        return;
      }
      log.warn({ err, events: group.length }, 'alarm group commit refused; storing its events one by one');
    }
    if (events) {
      group.forEach((p, i) => published(p, events[i]!));
      return;
    }
    for (const p of group) {
      if (p.dropped) continue;
      try {
        const [ev] = await store([entryOf(p)]);
        published(p, ev!);
      } catch (err) {
        await failed(p, err, group);
      }
    }
  }

  /** Stored: the stored view follows, then the listeners see the event (callers run in seq order). */
  function published(p: Pending, ev: AlarmEvent): void {
    view.stored(p.t.alarm);
    view.settled(p.t.alarm);
    deps.publish(ev);
    p.resolve(ev);
  }

  /**
   * The store refused an event: drop it and the later queued events of the same alarm (decided on
   * top of it), and put the key back to what is stored. A rule's raise refused because the store
   * holds another active alarm for the key (a second writer) is repeated onto that alarm instead.
   */
  async function failed(p: Pending, err: unknown, group: readonly Pending[]): Promise<void> {
    const alarm = p.t.alarm;
    view.settled(alarm);
    const superseded = new Error(`not stored: an earlier event of alarm ${alarm.id} could not be stored`, { cause: err });
    for (const q of [...group, ...queue]) {
      if (q === p || q.dropped || q.t.alarm.id !== alarm.id || !needsDrop(q, group, p)) continue;
      q.dropped = true;
      view.settled(q.t.alarm);
      q.reject(superseded);
    }
    p.dropped = true;
    view.rollBack(alarm);
    if (err instanceof ActiveAlarmConflictError && p.raise && !view.hasActive(alarm)) {
      const theirs = await deps.store.findActive({ originator: alarm.originator, type: alarm.type, site: alarm.site }).catch(() => undefined);
      if (theirs && !view.hasActive(alarm)) {
        // Decided now, so it queues behind everything decided before: seq order stays decision order.
        view.adopt(theirs);
        submit(repeatAlarm(theirs, p.raise.request, p.ts, p.raise.actor), p.ts).then(p.resolve, p.reject);
        return;
      }
    }
    p.reject(err);
  }
  /** Events of the failed alarm queued after it (in the group or the queue) were decided on top of it. */
  function needsDrop(q: Pending, group: readonly Pending[], p: Pending): boolean {
    const gi = group.indexOf(q);
    return gi === -1 || gi > group.indexOf(p);
  }

  return {
    submit,
    async written() {
      while (writing) await writing;
    },
  };
}
