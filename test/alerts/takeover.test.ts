import { afterAll, describe, expect, it, vi } from 'vitest';
import type { Alarm, AlarmStore } from '../../alerts/contracts.js';
import { closeHarness, deviceMap, openHarness, removeTempDirs, T0, tempDir, toReading } from './harness.js';
import { holdPoint } from '../helpers/hold-point.js';

/**
 * A device taken over from another node (cluster mode): its rule state and active alarms are read
 * from the store — as the other node wrote them — and its readings wait for that, however they
 * interleave with the take-over; a device handed away leaves memory. Here the "other node" is the
 * store written directly (the two-node version is test/alerts/incidents-cluster.test.ts).
 */
afterAll(removeTempDirs);

const devices = deviceMap([
  { id: 'sd-k', kind: 'smoke_detector', site: 'chundu', building: 'b1' },
  { id: 'sd-b', kind: 'smoke_detector', site: 'chundu', building: 'b2' },
]);
const sd = devices.get('sd-k')!;
const other = devices.get('sd-b')!;
const conflicts = async (h: Awaited<ReturnType<typeof openHarness>>) =>
  (await h.metrics.getMetricsAsJSON()).find((m) => m.name === 'anju_alarm_write_conflicts_total')?.values.reduce((n, v) => n + v.value, 0) ?? 0;

/** Written by the node the detector left: its smoke alarm `a-other-node`, and its smoke rule's state (on). */
async function storeTheirs(h: Awaited<ReturnType<typeof openHarness>>): Promise<void> {
  const theirs: Alarm = {
    id: 'a-other-node', type: 'smoke', originator: { kind: 'device', id: 'sd-k' }, site: 'chundu', building: 'b1', severity: 'critical',
    status: 'active_unack', startTs: T0, lastUpdateTs: T0, escalationLevel: 0, count: 1, details: { smoke: 0.5 }, timeline: [{ ts: T0, event: 'raised' }],
  };
  await h.db.alarms.record(theirs, { type: 'raised', ts: T0 });
  await h.db.alarms.saveRuleState(new Map<string, unknown>([['smoke/device/sd-k', { on: true, over: {} }], ['engine/last/sd-k', { ts: T0 }]]));
}

/** A store whose read of sd-k's active alarms waits until released: a take-over caught mid-read. */
function holdTakeOverRead() {
  const read = holdPoint();
  const store = (s: AlarmStore): AlarmStore => ({ ...s, list: async (q) => {
    const page = await s.list(q);
    if (q.originatorId === 'sd-k') {
      read.reach();
      await read.released;
    }
    return page;
  } });
  return { store, readBegun: read.reached, release: read.release };
}

describe('device take-over', () => {
  it('a reading that arrives while the take-over reads the store is evaluated on the state it read', async () => {
    const h = await openHarness({ dir: await tempDir(), devices });
    try {
      await storeTheirs(h);
      expect(h.engine.active()).toEqual([]);

      // Not awaited: the reading comes in while the take-over is still reading.
      const taking = h.engine.takeOver('sd-k');
      h.now.ms = T0 + 60_000;
      const reading = h.engine.accept([toReading(sd, 60, { smoke: 0.02, temperature: 22, alarm: false })]);
      await Promise.all([taking, reading]);
      await h.engine.idle();
      const after = await h.engine.get('a-other-node');
      expect(after).toMatchObject({ status: 'cleared_unack', count: 1 });
      expect(after?.timeline.at(-1)).toMatchObject({ event: 'cleared', actor: 'rule:smoke' });
      expect(h.engine.active()).toEqual([]);
    } finally {
      await closeHarness(h);
    }
  });

  it('a person\'s clear made here while the take-over reads the store stays cleared: the older copy read is not adopted', async () => {
    // Found in review: the take-over adopted the copy it had read (active), memory showed the alarm
    // again, and the rule's next repeat wrote it back over the clear.
    const hold = holdTakeOverRead();
    const h = await openHarness({ dir: await tempDir(), devices, store: hold.store });
    try {
      await storeTheirs(h);
      const taking = h.engine.takeOver('sd-k');
      await hold.readBegun;
      h.now.ms = T0 + 30_000;
      await h.engine.clear('a-other-node', 'wang');
      hold.release();
      await taking;
      expect(h.engine.active()).toEqual([]);
      // Still smoking: the rule raises a new alarm; the one cleared stays cleared.
      h.now.ms = T0 + 60_000;
      await h.engine.accept([toReading(sd, 60, { smoke: 0.6, alarm: true })]);
      await h.engine.idle();
      expect(await h.engine.get('a-other-node')).toMatchObject({ status: 'cleared_unack', count: 1 });
      expect(h.engine.active().map((a) => [a.type, a.status, a.id === 'a-other-node'])).toEqual([['smoke', 'active_unack', false]]);
    } finally {
      await closeHarness(h);
    }
  });

  it('closing while a take-over reads the store: the reading waiting for it is evaluated first, not refused', async () => {
    const hold = holdTakeOverRead();
    const h = await openHarness({ dir: await tempDir(), devices, store: hold.store });
    try {
      const taking = h.engine.takeOver('sd-k');
      await hold.readBegun;
      h.now.ms = T0 + 1_000;
      const reading = h.engine.accept([toReading(sd, 1, { smoke: 0.6, alarm: true })]);
      const closing = h.engine.close();
      hold.release();
      await taking;
      await expect(reading).resolves.toBeUndefined();
      await closing;
      expect((await h.db.alarms.list({ limit: 10, offset: 0 })).items.map((a) => [a.type, a.status])).toEqual([['smoke', 'active_unack']]);
    } finally {
      await closeHarness(h);
    }
  });

  it('a device handed away: its state is written and leaves memory with its alarms; taken back, it is read again', async () => {
    const h = await openHarness({ dir: await tempDir(), devices });
    try {
      await h.engine.accept([toReading(sd, 0, { smoke: 0.6, alarm: true })]);
      await h.engine.idle();
      expect(h.engine.active().map((a) => a.type)).toEqual(['smoke']);
      await h.engine.release('sd-k');
      expect(h.engine.active()).toEqual([]);
      expect((await h.db.alarms.loadRuleState(['smoke/device/sd-k'])).get('smoke/device/sd-k')).toMatchObject({ on: true });
      // Meanwhile the other node acknowledged it; back here, the acknowledgement is what memory shows.
      const stored = (await h.db.alarms.list({ limit: 10, offset: 0 })).items[0]!;
      await h.db.alarms.record({ ...stored, status: 'active_ack', ackTs: T0 + 5 }, { type: 'acked', ts: T0 + 5 });
      await h.engine.takeOver('sd-k');
      expect(h.engine.active().map((a) => [a.type, a.status])).toEqual([['smoke', 'active_ack']]);
      await h.engine.accept([toReading(sd, 10, { smoke: 0.6, alarm: true })]);
      await h.engine.idle();
      expect(await h.engine.get(stored.id)).toMatchObject({ status: 'active_ack', count: 2 });
    } finally {
      await closeHarness(h);
    }
  });

  it('a take-over that fails (the store unreachable) delays only that device: its readings are then evaluated on what memory holds, other devices at once', async () => {
    let failLoads = true;
    let release: () => void = () => undefined;
    const gate = new Promise<void>((r) => { release = r; });
    const h = await openHarness({
      dir: await tempDir(), devices,
      store: (s) => ({ ...s, loadRuleState: async (keys) => {
        if (keys && failLoads) {
          await gate;
          throw new Error('PostgreSQL does not answer');
        }
        return s.loadRuleState(keys);
      } }),
    });
    try {
      const taking = h.engine.takeOver('sd-k');
      // Another device's fire in the same batch is not held up by the take-over in progress.
      const batch = h.engine.accept([toReading(other, 0, { smoke: 0.6, alarm: true }), toReading(sd, 0, { smoke: 0.6, alarm: true })]);
      await h.engine.idle();
      await vi.waitFor(() => expect(h.events.map((e) => e.alarm.originator.id)).toEqual(['sd-b']));
      release();
      await expect(taking).rejects.toThrow(/does not answer/);
      await batch;
      await h.engine.idle();
      expect(h.events.map((e) => [e.type, e.alarm.originator.id]).sort()).toEqual([['raised', 'sd-b'], ['raised', 'sd-k']]);
      failLoads = false;
    } finally {
      await closeHarness(h);
    }
  });

  it('a device that leaves and comes straight back keeps its state and alarms (release and take-over in turn)', async () => {
    const h = await openHarness({
      dir: await tempDir(), devices,
      // A slow write of the rule state: the take-over must not read (or be overwritten) before it lands.
      // Like every store, it takes the values as they are at the call (serialised before its first await).
      store: (s) => ({
        ...s,
        saveRuleState: async (c) => {
          const taken = new Map([...c].map(([k, v]) => [k, v === undefined ? undefined : JSON.parse(JSON.stringify(v)) as unknown]));
          await new Promise((r) => setTimeout(r, 50));
          return s.saveRuleState(taken);
        },
      }),
    });
    try {
      await h.engine.accept([toReading(sd, 0, { smoke: 0.6, alarm: true })]);
      await h.engine.idle();
      const leaving = h.engine.release('sd-k');
      const back = h.engine.takeOver('sd-k');
      await Promise.all([leaving, back]);
      expect(h.engine.active().map((a) => [a.type, a.status])).toEqual([['smoke', 'active_unack']]);
      h.now.ms = T0 + 60_000;
      await h.engine.accept([toReading(sd, 60, { smoke: 0.02, temperature: 22, alarm: false })]);
      await h.engine.idle();
      expect(h.engine.active()).toEqual([]);
      expect(h.events.map((e) => e.type)).toEqual(['raised', 'cleared']);
    } finally {
      await closeHarness(h);
    }
  });

  it('on one node nothing is ever refused as changed: an acknowledgement and a comment at once, repeats, a clear', async () => {
    const h = await openHarness({ dir: await tempDir(), devices });
    try {
      await h.engine.accept([toReading(sd, 0, { smoke: 0.6, alarm: true })]);
      await h.engine.idle();
      const id = h.engine.active()[0]!.id;
      await Promise.all([h.engine.ack(id, 'op'), h.engine.comment(id, 'op', '已到场'), h.engine.accept([toReading(sd, 10, { smoke: 0.6, alarm: true })])]);
      await h.engine.accept([toReading(sd, 70, { smoke: 0.01, alarm: false })]);
      await h.engine.idle();
      await Promise.all([h.engine.comment(id, 'op', '已处理'), h.engine.comment(id, 'op', '复核')]);
      expect(await conflicts(h)).toBe(0);
      expect((await h.engine.get(id))?.timeline.filter((t) => t.event === 'commented')).toHaveLength(3);
    } finally {
      await closeHarness(h);
    }
  });
});
