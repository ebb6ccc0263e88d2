import { afterEach, describe, expect, it } from 'vitest';
import type { AlarmEvent, AlarmStore } from '../../alerts/index.js';
import type { Device } from '../../core/index.js';
import { closeHarness, openHarness, removeTempDirs, T0, tempDir, toReading, type Harness } from './harness.js';

/**
 * The engine's write-behind: decisions are taken in memory and their events stored as group
 * commits (one transaction for everything decided while the previous commit was in flight), each
 * event stored before any listener sees it, seqs gap-free in decision order.
 */

const fire = { smoke: 0.8, temperature: 30, co: 5, alarm: true };
const calm = { smoke: 0.01, temperature: 21, co: 1 };
const detectors = (n: number): Map<string, Device> =>
  new Map(Array.from({ length: n }, (_, i) => {
    // One per building: two detectors of one building would also confirm its fire (fire_risk), which is not what these tests count.
    const d: Device = { id: `sd-${i}`, kind: 'smoke_detector', site: 'chundu', building: `b${i}`, name: `sd-${i}`, createdAt: T0 };
    return [d.id, d];
  }));

/** The store with every committed seq noted the moment its transaction resolved, and its transactions counted. */
function observed(inner: AlarmStore, fail?: (ids: readonly string[]) => boolean) {
  const committed = new Set<number>();
  const calls = { transactions: 0, events: 0 };
  const note = (evs: readonly AlarmEvent[]) => {
    calls.transactions += 1;
    calls.events += evs.length;
    for (const e of evs) committed.add(e.seq);
  };
  const wrap = (): AlarmStore => ({
    ...inner,
    async record(alarm, ev) {
      if (fail?.([alarm.originator.id])) throw new Error('disk on fire');
      const out = await inner.record(alarm, ev);
      note([out]);
      return out;
    },
    async recordMany(entries) {
      if (fail?.(entries.map((e) => e.alarm.originator.id))) throw new Error('disk on fire');
      const out = await inner.recordMany(entries);
      note(out);
      return out;
    },
  });
  return { wrap, committed, calls };
}

async function commitsMetric(h: Harness, outcome: 'committed' | 'failed'): Promise<number> {
  const m = await h.metrics.getSingleMetric('anju_alarm_store_commits_total')?.get();
  return m?.values.find((v) => v.labels.outcome === outcome)?.value ?? 0;
}

let h: Harness | undefined;
afterEach(async () => {
  if (h) await closeHarness(h);
  h = undefined;
  await removeTempDirs();
});

describe('group commit of alarm events', () => {
  it('a burst of 500 fire readings from distinct detectors: each raised event stored before its listener call, seq gap-free, far fewer transactions than events', async () => {
    const N = 500;
    const devices = detectors(N);
    let obs: ReturnType<typeof observed> | undefined;
    let notStoredAtNotify = 0;
    h = await openHarness({ dir: await tempDir(), devices, store: (inner) => (obs = observed(inner)).wrap() });
    if (!obs) throw new Error('store not wrapped');
    const { committed, calls } = obs;
    // A listener that checks, at the moment it is called, that the store had committed the event.
    h.engine.subscribe((e) => {
      if (!committed.has(e.seq)) notStoredAtNotify += 1;
    });
    const engine = h.engine;
    // As ingest hands them over: separate accept calls, none awaited before the next starts.
    await Promise.all([...devices.values()].map((d) => engine.accept([toReading(d, 1, fire)])));

    expect(notStoredAtNotify).toBe(0);
    const raised = h.events.filter((e) => e.type === 'raised');
    expect(raised).toHaveLength(N);
    expect(new Set(raised.map((e) => e.alarm.originator.id)).size).toBe(N);
    expect(h.events.map((e) => e.seq)).toEqual(Array.from({ length: N }, (_, i) => i + 1));
    // The store holds exactly what the listeners saw, in the same order.
    const stored = await h.db.alarms.eventsSince(0, 10_000);
    expect(stored.map((e) => [e.seq, e.type, e.alarm.id])).toEqual(h.events.map((e) => [e.seq, e.type, e.alarm.id]));
    expect((await h.db.alarms.list({ status: 'active_unack', limit: 1, offset: 0 })).total).toBe(N);
    // Group commit: a handful of transactions, not one per event.
    expect(calls.events).toBe(N);
    expect(calls.transactions).toBeLessThan(N / 10);
    expect(await commitsMetric(h, 'committed')).toBe(calls.transactions);
    expect(engine.active()).toHaveLength(N);
  });

  it('raise, repeat and clear of one alarm decided within one group keep their order and end as the last decision', async () => {
    const devices = detectors(3);
    h = await openHarness({ dir: await tempDir(), devices });
    const engine = h.engine;
    const [a, b] = [devices.get('sd-0')!, devices.get('sd-1')!];
    await Promise.all([
      engine.accept([toReading(a, 1, fire)]), engine.accept([toReading(b, 1, fire)]), engine.accept([toReading(a, 2, fire)]),
      engine.accept([toReading(a, 3, calm)]), engine.accept([toReading(a, 4, fire)]),
    ]);
    expect(h.events.map((e) => [e.seq, e.alarm.originator.id, e.type])).toEqual([
      [1, 'sd-0', 'raised'], [2, 'sd-1', 'raised'], [3, 'sd-0', 'updated'], [4, 'sd-0', 'cleared'], [5, 'sd-0', 'raised'],
    ]);
    const stored = await h.db.alarms.eventsSince(0);
    expect(stored.map((e) => [e.seq, e.type, e.alarm.status, e.alarm.count])).toEqual(h.events.map((e) => [e.seq, e.type, e.alarm.status, e.alarm.count]));
    const sd0 = await engine.list({ originatorId: 'sd-0', limit: 10, offset: 0 });
    expect(sd0.items.map((x) => x.status).sort()).toEqual(['active_unack', 'cleared_unack']);
    expect(engine.active().map((x) => x.originator.id).sort()).toEqual(['sd-0', 'sd-1']);
    // A human action right behind the decisions sees the decided (not yet necessarily stored) version.
    const cleared = sd0.items.find((x) => x.status === 'cleared_unack')!;
    expect((await engine.ack(cleared.id, 'alice')).status).toBe('cleared_ack');
  });

  it('a group the store refuses is stored event by event: the bad event is dropped (not published, no seq used), the others go out gap-free', async () => {
    const N = 60;
    const devices = detectors(N);
    let broken = true;
    h = await openHarness({
      dir: await tempDir(), devices,
      store: (inner) => observed(inner, (ids) => broken && ids.includes('sd-13')).wrap(),
    });
    const engine = h.engine;
    await Promise.all([...devices.values()].map((d) => engine.accept([toReading(d, 1, fire)])));
    // A repeat of the dropped raise, while the store still refuses it.
    await engine.accept([toReading(devices.get('sd-13')!, 2, fire)]);

    expect(h.events.map((e) => e.seq)).toEqual(Array.from({ length: N - 1 }, (_, i) => i + 1));
    expect(h.events.some((e) => e.alarm.originator.id === 'sd-13')).toBe(false);
    expect((await h.db.alarms.eventsSince(0)).map((e) => e.seq)).toEqual(h.events.map((e) => e.seq));
    // Memory went back to what is stored: no phantom alarm for sd-13.
    expect(engine.active().some((a) => a.originator.id === 'sd-13')).toBe(false);
    expect(await commitsMetric(h, 'failed')).toBeGreaterThan(0);
    expect(h.logLines.some((l) => l.msg === 'alarm decision could not be stored')).toBe(true);

    // The rule's next repeat, once the store takes it again, raises it (count 1: the failed ones never happened).
    broken = false;
    await engine.accept([toReading(devices.get('sd-13')!, 3, fire)]);
    const last = h.events.at(-1)!;
    expect(last).toMatchObject({ seq: N, type: 'raised', alarm: { originator: { id: 'sd-13' }, count: 1 } });
    expect(engine.active()).toHaveLength(N);
  });

  it('idle() and close() wait for the write-behind: everything decided is stored', async () => {
    const devices = detectors(50);
    const dir = await tempDir();
    h = await openHarness({ dir, devices });
    const engine = h.engine;
    for (const d of devices.values()) void engine.accept([toReading(d, 1, fire)]);
    await engine.idle();
    expect(h.events).toHaveLength(50);
    for (const d of devices.values()) void engine.accept([toReading(d, 2, calm)]);
    await closeHarness(h);
    h = await openHarness({ dir, devices });
    expect(h.engine.active()).toHaveLength(0);
    expect(await h.db.alarms.lastSeq()).toBe(100);
  });

  it('activeAsOf() shows what is stored with the seq it includes, never a decision still being written', async () => {
    const devices = detectors(2);
    const dir = await tempDir();
    let open: () => void = () => undefined;
    let gate = Promise.resolve();
    h = await openHarness({ dir, devices, store: (inner) => ({ ...inner, async recordMany(entries) { await gate; return inner.recordMany(entries); },
      async record(alarm, ev) { await gate; return inner.record(alarm, ev); } }) });
    const engine = h.engine;
    gate = new Promise<void>((r) => { open = r; });
    const accepted = engine.accept([toReading(devices.get('sd-0')!, 1, fire)]);
    // Decided (the decided view has it), not stored: the counts a control room paints events onto must not include it.
    await new Promise((r) => setTimeout(r, 50));
    expect(engine.active()).toHaveLength(1);
    expect(engine.activeAsOf()).toEqual({ alarms: [], seq: 0 });
    open();
    await accepted;
    await engine.idle();
    const [raised] = h.events;
    expect(engine.activeAsOf()).toEqual({ alarms: [expect.objectContaining({ id: raised!.alarm.id })], seq: raised!.seq });
    // After a restart: the store's last seq, with the alarms it includes.
    await closeHarness(h);
    h = await openHarness({ dir, devices });
    expect(h.engine.activeAsOf()).toMatchObject({ alarms: [expect.objectContaining({ id: raised!.alarm.id })], seq: raised!.seq });
  });
});
