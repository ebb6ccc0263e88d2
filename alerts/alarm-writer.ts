import type { Logger } from 'pino';
import { Counter, Histogram, type Registry } from 'prom-client';
import { getOrCreateMetric } from '../core/util/index.js';
import { ActiveAlarmConflictError, AlarmChangedError, type Alarm, type AlarmEvent, type AlarmRecordEntry, type AlarmStore } from './contracts.js';
import type { Transition } from './lifecycle.js';

/**
 * What the writer needs from the engine's in-memory view: the decided view (active alarm per key,
 * including decisions not stored yet) and the stored view (as last committed) it returns to.
 */
export interface DecidedView {
  /** A decision was taken: memory shows it from now on, before it is stored. */
  decided(alarm: Alarm): void;
  /** One event of this alarm left the queue (stored, dropped or refused). */
  settled(alarm: Alarm): void;
  /** Stored (the alarm as stored, with its revision): the stored view follows, and the decided one takes the revision. */
  stored(alarm: Alarm): void;
  /** Refused: where memory shows this alarm's failed version, its key goes back to what is stored. */
  rollBack(alarm: Alarm): void;
  /** Whether memory holds a decided active alarm for this alarm's key. */
  hasActive(alarm: Alarm): boolean;
  /** Another writer's active alarm, found in the store: both views take it. */
  adopt(alarm: Alarm): void;
}

/**
 * The decision again, on the alarm as another writer (another node) stored it: what a refused write
 * becomes — a rule's raise repeated onto the alarm already active for its key, a repeat or a clear
 * applied to the alarm as it now stands, a person's action checked again. Undefined: nothing to do
 * any more (the alarm was cleared meanwhile); throwing (an AlarmError): the action is refused now.
 */
export type Redo = (current: Alarm) => Transition | undefined;

export interface AlarmWriter {
  /**
   * A decision: applied to the view now, stored by the writer, then published; settles once published
   * (or refused). With `redo`, a write refused because another writer got there first is decided again
   * on what it stored; the promise then settles with that decision's event (undefined: none was needed).
   */
  submit(t: Transition, ts: number, redo?: Redo): Promise<AlarmEvent | undefined>;
  /** Resolves once every event submitted so far is stored (or dropped) and published. */
  written(): Promise<void>;
  /** The revision this writer last stored of an alarm (undefined: none it remembers). */
  storedRevision(id: string): number | undefined;
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
  readonly redo?: Redo;
  dropped: boolean;
  resolve(ev: AlarmEvent | undefined): void;
  reject(err: unknown): void;
}

/** Alarm ids whose last stored revision this writer keeps (what it wrote); the oldest go first beyond it. */
const MAX_KNOWN_REVISIONS = 100_000;

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
  const conflicts = getOrCreateMetric(deps.metrics, 'anju_alarm_write_conflicts_total', () => new Counter({
    name: 'anju_alarm_write_conflicts_total',
    help: 'Alarm writes refused because another writer (another node) changed the alarm (changed) or raised one for its key (active_key) first; decided again',
    labelNames: ['kind'], registers: [deps.metrics],
  }));
  const maxPerCommit = Math.max(1, config.maxEventsPerCommit ?? 1_000);
  const queue: Pending[] = [];
  let writing: Promise<void> | undefined;
  /**
   * The revision of each alarm as this writer last stored it. A decision is often taken on a version
   * still on its way to the store (memory runs ahead of it); it is written as a change of what this
   * writer stored last — or of a newer version read from the store, whichever is newer.
   */
  const revisions = new Map<string, number>();

  const revised = (a: Alarm): Alarm => {
    const known = revisions.get(a.id);
    return known === undefined || (a.rev !== undefined && a.rev >= known) ? a : { ...a, rev: known };
  };
  const entryOf = (p: Pending): AlarmRecordEntry => ({
    alarm: revised(p.t.alarm), event: { type: p.t.event, ts: p.ts, ...(p.t.previousSeverity ? { previousSeverity: p.t.previousSeverity } : {}) },
  });

  function submit(t: Transition, ts: number, redo?: Redo): Promise<AlarmEvent | undefined> {
    view.decided(t.alarm);
    return new Promise<AlarmEvent | undefined>((resolve, reject) => {
      queue.push({ t, ts, ...(redo ? { redo } : {}), dropped: false, resolve, reject });
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
    // Kept newest last, the least recently written dropped beyond the bound: an alarm that still
    // changes stays. One dropped is written from its in-memory revision (the view keeps it), and a
    // revision older than what is stored is refused and decided again, never written blindly.
    revisions.delete(ev.alarm.id);
    revisions.set(ev.alarm.id, ev.seq);
    if (revisions.size > MAX_KNOWN_REVISIONS) revisions.delete(revisions.keys().next().value as string);
    view.stored(ev.alarm);
    view.settled(p.t.alarm);
    deps.publish(ev);
    p.resolve(ev);
  }

  /**
   * The store refused an event: drop it and the later queued events of the same alarm (decided on
   * top of it), and put the key back to what is stored. When another writer got there first — it
   * changed this alarm since this writer read it, or (a rule's raise) holds an active alarm for the
   * key — each dropped decision that can be is decided again, in order, on what that writer stored.
   */
  async function failed(p: Pending, err: unknown, group: readonly Pending[]): Promise<void> {
    const alarm = p.t.alarm;
    view.settled(alarm);
    const later = [...group, ...queue].filter((q) => q !== p && !q.dropped && q.t.alarm.id === alarm.id && needsDrop(q, group, p));
    for (const q of later) {
      q.dropped = true;
      view.settled(q.t.alarm);
    }
    p.dropped = true;
    view.rollBack(alarm);
    const theirs = p.redo ? await storedByOther(err, p.t) : undefined;
    if (theirs) {
      conflicts.inc({ kind: err instanceof AlarmChangedError ? 'changed' : 'active_key' });
      log.info({ alarm: alarm.id, err: (err as Error).message }, 'another writer changed this alarm first: deciding again on what it stored');
      // Decided now, so they queue behind everything decided before: seq order stays decision order.
      view.adopt(theirs);
      let base = theirs;
      for (const q of [p, ...later]) {
        if (!q.redo) {
          q.reject(err);
          continue;
        }
        let t: Transition | undefined;
        try {
          t = q.redo(base);
        } catch (e) {
          q.reject(e);
          continue;
        }
        if (!t) {
          q.resolve(undefined);
          continue;
        }
        base = t.alarm;
        submit(t, q.ts, q.redo).then(q.resolve, q.reject);
      }
      return;
    }
    const superseded = new Error(`not stored: an earlier event of alarm ${alarm.id} could not be stored`, { cause: err });
    for (const q of later) q.reject(superseded);
    p.reject(err);
  }

  /** The alarm as another writer stored it, when that is why `err` refused this one's write. */
  async function storedByOther(err: unknown, { alarm, event }: Transition): Promise<Alarm | undefined> {
    if (err instanceof AlarmChangedError) return deps.store.get(alarm.id).catch(() => undefined);
    if (!(err instanceof ActiveAlarmConflictError) || event !== 'raised' || view.hasActive(alarm)) return undefined;
    const found = await deps.store.findActive({ originator: alarm.originator, type: alarm.type, site: alarm.site }).catch(() => undefined);
    return found && !view.hasActive(alarm) ? found : undefined;
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
    storedRevision: (id) => revisions.get(id),
  };
}
