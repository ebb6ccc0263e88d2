import { activeStatuses, isActive, type Alarm, type AlarmEvent, type AlarmStore } from './contracts.js';
import type { EventFeed } from './event-feed.js';

/**
 * A cluster's active alarms as stored — every node's, not only this node's engine's — kept from the
 * shared log (alerts/event-feed.ts): read from the store at start, then each event in seq order. With
 * them the seq of the last event they include, for the control room's overview: its counts take live
 * events after that seq only (api/routes/api/sites/overview.ts).
 *
 * At start the store's last seq is read before its active alarms, so the list may already show an
 * event after that seq; the event then arrives from the feed and is applied again, to the same id.
 * Events the feed delivered meanwhile up to that seq are in the list already and are skipped.
 */
export interface ActiveAlarmView {
  start(): Promise<void>;
  asOf(): { alarms: Alarm[]; seq: number };
  subscribe(listener: () => void): () => void;
  stop(): void;
}

export function createActiveAlarmView(deps: { feed: EventFeed<AlarmEvent>; store: Pick<AlarmStore, 'list' | 'lastSeq'> }): ActiveAlarmView {
  const byId = new Map<string, Alarm>();
  const listeners = new Set<() => void>();
  let seq = 0;
  let loaded = false;
  const early: AlarmEvent[] = [];
  const apply = (e: AlarmEvent) => {
    if (isActive(e.alarm.status)) byId.set(e.alarm.id, e.alarm);
    else byId.delete(e.alarm.id);
    if (e.seq > seq) seq = e.seq;
    for (const l of listeners) l();
  };
  const off = deps.feed.subscribe((e) => (loaded ? apply(e) : early.push(e)));
  return {
    async start() {
      seq = await deps.store.lastSeq();
      for (let offset = 0; ; offset += 1_000) {
        const page = await deps.store.list({ status: activeStatuses, limit: 1_000, offset });
        for (const a of page.items) byId.set(a.id, a);
        if (page.items.length < 1_000) break;
      }
      loaded = true;
      // Those the list already shows (at the seq read before it) are not applied again, older than it.
      const loadedSeq = seq;
      for (const e of early.splice(0)) if (e.seq > loadedSeq) apply(e);
    },
    asOf: () => ({ alarms: [...byId.values()], seq }),
    subscribe(listener) {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
    stop: off,
  };
}
