import { expect, it } from 'vitest';
import { withContract, type StoreHarness } from './contract-scaffold.js';
import { ActiveAlarmConflictError, AlarmChangedError, type Alarm, type AlarmStore } from '../../storage/alarms/contract.js';

/**
 * The abstract AlarmStore suite: every implementation (embedded DuckDB now, PostgreSQL in cluster
 * mode next) runs it through its own `*.test.ts`, unchanged. It speaks only through the contract:
 * `open` gives a fresh, empty store; `reopen` closes it and opens a new one on the same storage
 * (a restart); `cleanup` closes whatever is open and removes the storage.
 */
export type AlarmStoreHarness = StoreHarness<AlarmStore>;

const T0 = Date.UTC(2025, 3, 1, 0, 0, 0);

const alarm = (id: string, device: string, over: Partial<Alarm> = {}): Alarm => ({
  id, type: 'smoke', originator: { kind: 'device', id: device }, site: 's1', building: 'b1', severity: 'critical', status: 'active_unack',
  startTs: T0, lastUpdateTs: T0, escalationLevel: 0, count: 1, details: { smoke: 0.5 }, timeline: [{ ts: T0, event: 'raised' }], ...over,
});
const cleared = (a: Alarm, ts: number): Alarm => ({ ...a, status: 'cleared_unack', clearTs: ts, lastUpdateTs: ts });

export function alarmStoreContract(name: string, open: () => Promise<AlarmStoreHarness>): void {
  withContract(`AlarmStore contract: ${name}`, open, (c) => {

    it('starts empty: no seq, no events, nothing found', async () => {
      expect(await c.store.lastSeq()).toBe(0);
      expect(await c.store.eventsSince(0)).toEqual([]);
      expect(await c.store.get('nope')).toBeUndefined();
      expect(await c.store.findActive({ originator: { kind: 'device', id: 'sd-1' }, type: 'smoke', site: 's1' })).toBeUndefined();
      expect(await c.store.list({ limit: 10, offset: 0 })).toEqual({ items: [], total: 0 });
      expect(await c.store.loadRuleState()).toEqual(new Map());
      expect(await c.store.loadRulesConfig()).toBeUndefined();
    });

    it('records an alarm with its event and answers it back exactly, details and timeline included', async () => {
      const a = alarm('a1', 'sd-1', {
        assignee: '王师傅', details: { smoke: 0.35, nested: { zh: '厨房' }, list: [1, 2] },
        timeline: [{ ts: T0, event: 'raised', actor: 'rule:smoke', text: '烟雾报警', details: { smoke: 0.35 } }],
      });
      const e = await c.store.record(a, { type: 'raised', ts: T0 });
      // Answered at the revision the event wrote: its seq.
      expect(e).toEqual({ seq: 1, ts: T0, type: 'raised', alarm: { ...a, rev: 1 } });
      expect(await c.store.get('a1')).toEqual({ ...a, rev: 1 });
      const up = await c.store.record({ ...a, severity: 'critical', count: 2 }, { type: 'updated', ts: T0 + 1, previousSeverity: 'major' });
      expect(up.previousSeverity).toBe('major');
      expect((await c.store.eventsSince(1))[0]?.previousSeverity).toBe('major');
    });

    it('writes an alarm carrying its revision only at that revision: a stale copy is refused whole, the current one goes in', async () => {
      await c.store.record(alarm('a1', 'sd-1'), { type: 'raised', ts: T0 });
      const read = (await c.store.get('a1'))!;
      expect(read.rev).toBe(1);
      // Another writer (another node) acknowledges it from the copy it read…
      const acked = await c.store.record({ ...read, status: 'active_ack', ackTs: T0 + 1 }, { type: 'acked', ts: T0 + 1 });
      expect(acked.alarm.rev).toBe(acked.seq);
      // …so a repeat decided on the older copy would undo it: refused, with the rest of its group.
      const err = await c.store.recordMany([
        { alarm: alarm('a2', 'sd-2'), event: { type: 'raised', ts: T0 + 2 } },
        { alarm: { ...read, count: 2, lastUpdateTs: T0 + 2 }, event: { type: 'updated', ts: T0 + 2 } },
      ]).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(AlarmChangedError);
      expect(err).toMatchObject({ code: 'alarm_changed', alarmId: 'a1' });
      expect(await c.store.get('a2')).toBeUndefined();
      expect(await c.store.lastSeq()).toBe(acked.seq);
      // Decided again on the stored one: the acknowledgement stays.
      const fresh = (await c.store.get('a1'))!;
      const [up] = await c.store.recordMany([
        { alarm: { ...fresh, count: 2, lastUpdateTs: T0 + 2 }, event: { type: 'updated', ts: T0 + 2 } },
        { alarm: { ...fresh, count: 3, lastUpdateTs: T0 + 3 }, event: { type: 'updated', ts: T0 + 3 } },
      ]);
      expect(await c.store.get('a1')).toMatchObject({ status: 'active_ack', count: 3, rev: up!.seq + 1 });
      // Without a revision (a new alarm, or one stored before revisions existed) a write is not checked.
      await c.store.record({ ...alarm('a1', 'sd-1'), count: 9 }, { type: 'updated', ts: T0 + 4 });
      expect((await c.store.get('a1'))?.count).toBe(9);
    });

    it('two writers from the same revision: exactly one change is stored, the other is refused as changed', async () => {
      await c.store.record(alarm('a1', 'sd-1'), { type: 'raised', ts: T0 });
      const read = (await c.store.get('a1'))!;
      const results = await Promise.allSettled(Array.from({ length: 6 }, (_, k) =>
        c.store.record({ ...read, assignee: `p${k}` }, { type: 'assigned', ts: T0 + k })));
      expect(results.filter((r) => r.status === 'fulfilled')).toHaveLength(1);
      for (const r of results) if (r.status === 'rejected') expect(r.reason).toBeInstanceOf(AlarmChangedError);
      expect((await c.store.get('a1'))?.assignee).toBe(`p${results.findIndex((r) => r.status === 'fulfilled')}`);
    });

    it('recording the same alarm id again replaces it: one alarm, one event per record', async () => {
      const a = alarm('a1', 'sd-1');
      await c.store.record(a, { type: 'raised', ts: T0 });
      await c.store.record({ ...a, count: 3, lastUpdateTs: T0 + 5 }, { type: 'updated', ts: T0 + 5 });
      await c.store.record({ ...a, count: 3, lastUpdateTs: T0 + 5 }, { type: 'updated', ts: T0 + 5 });
      expect((await c.store.get('a1'))?.count).toBe(3);
      expect((await c.store.list({ limit: 10, offset: 0 })).total).toBe(1);
      expect((await c.store.eventsSince(0)).map((e) => e.seq)).toEqual([1, 2, 3]);
    });

    it('one active alarm per key: a second is refused without using a seq; cleared makes room', async () => {
      await c.store.record(alarm('a1', 'sd-1'), { type: 'raised', ts: T0 });
      await expect(c.store.record(alarm('a2', 'sd-1'), { type: 'raised', ts: T0 })).rejects.toBeInstanceOf(ActiveAlarmConflictError);
      expect(await c.store.get('a2')).toBeUndefined();
      expect(await c.store.lastSeq()).toBe(1);
      // Another type, or another device, is another key.
      await c.store.record(alarm('a3', 'sd-1', { type: 'heat' }), { type: 'raised', ts: T0 });
      await c.store.record(alarm('a4', 'sd-2'), { type: 'raised', ts: T0 });
      await c.store.record(cleared(alarm('a1', 'sd-1'), T0 + 1), { type: 'cleared', ts: T0 + 1 });
      expect(await c.store.findActive({ originator: { kind: 'device', id: 'sd-1' }, type: 'smoke', site: 's1' })).toBeUndefined();
      const again = await c.store.record(alarm('a5', 'sd-1', { startTs: T0 + 2 }), { type: 'raised', ts: T0 + 2 });
      expect(again.seq).toBe(5);
      expect((await c.store.findActive({ originator: { kind: 'device', id: 'sd-1' }, type: 'smoke', site: 's1' }))?.id).toBe('a5');
    });

    it('a building key includes its site: the same building id in two sites holds two active alarms', async () => {
      const b = (id: string, site: string) => alarm(id, 'b1', { originator: { kind: 'building', id: 'b1' }, type: 'fire_risk', site });
      await c.store.record(b('f1', 's1'), { type: 'raised', ts: T0 });
      await c.store.record(b('f2', 's2'), { type: 'raised', ts: T0 });
      await expect(c.store.record(b('f3', 's1'), { type: 'raised', ts: T0 })).rejects.toBeInstanceOf(ActiveAlarmConflictError);
      expect((await c.store.findActive({ originator: { kind: 'building', id: 'b1' }, type: 'fire_risk', site: 's2' }))?.id).toBe('f2');
      // A device and a building with the same id are different originators.
      expect(await c.store.findActive({ originator: { kind: 'device', id: 'b1' }, type: 'fire_risk', site: 's1' })).toBeUndefined();
    });

    it('recordMany is one transaction: consecutive seqs in entry order, or nothing at all', async () => {
      expect(await c.store.recordMany([])).toEqual([]);
      const a = alarm('a', 'sd-1');
      const out = await c.store.recordMany([
        { alarm: a, event: { type: 'raised', ts: T0 } },
        { alarm: { ...a, count: 2 }, event: { type: 'updated', ts: T0 + 1 } },
        { alarm: cleared({ ...a, count: 2 }, T0 + 2), event: { type: 'cleared', ts: T0 + 2 } },
      ]);
      expect(out.map((e) => [e.seq, e.type, e.alarm.status, e.alarm.count])).toEqual([
        [1, 'raised', 'active_unack', 1], [2, 'updated', 'active_unack', 2], [3, 'cleared', 'cleared_unack', 2],
      ]);
      await expect(c.store.recordMany([
        { alarm: alarm('x', 'sd-8'), event: { type: 'raised', ts: T0 } },
        { alarm: alarm('y', 'sd-9'), event: { type: 'raised', ts: T0 } },
        { alarm: alarm('z', 'sd-9'), event: { type: 'raised', ts: T0 } },
      ])).rejects.toBeInstanceOf(ActiveAlarmConflictError);
      expect(await c.store.get('x')).toBeUndefined();
      expect(await c.store.lastSeq()).toBe(3);
      expect((await c.store.record(alarm('n', 'sd-3'), { type: 'raised', ts: T0 })).seq).toBe(4);
    });

    it('concurrent writers get unique, gap-free seqs, and exactly one of two racing raises of a key wins', async () => {
      const writes = Array.from({ length: 25 }, (_, i) => c.store.record(alarm(`c${i}`, `sd-${i}`), { type: 'raised', ts: T0 + i }));
      const batch = c.store.recordMany(Array.from({ length: 5 }, (_, i) => ({ alarm: alarm(`m${i}`, `m-${i}`), event: { type: 'raised' as const, ts: T0 } })));
      const seqs = [...(await Promise.all(writes)).map((e) => e.seq), ...(await batch).map((e) => e.seq)].sort((x, y) => x - y);
      expect(seqs).toEqual(Array.from({ length: 30 }, (_, i) => i + 1));
      const race = await Promise.allSettled([
        c.store.record(alarm('r1', 'racer'), { type: 'raised', ts: T0 }),
        c.store.record(alarm('r2', 'racer'), { type: 'raised', ts: T0 }),
      ]);
      expect(race.filter((r) => r.status === 'fulfilled')).toHaveLength(1);
      const lost = race.find((r) => r.status === 'rejected');
      expect((lost as PromiseRejectedResult).reason).toBeInstanceOf(ActiveAlarmConflictError);
      expect(await c.store.lastSeq()).toBe(31);
    });

    it('eventsSince answers in seq order, after the given seq, at most limit', async () => {
      for (let i = 0; i < 12; i++) await c.store.record(alarm(`e${i}`, `sd-${i}`), { type: 'raised', ts: T0 + i });
      expect((await c.store.eventsSince(0)).map((e) => e.seq)).toEqual(Array.from({ length: 12 }, (_, i) => i + 1));
      expect((await c.store.eventsSince(9)).map((e) => e.seq)).toEqual([10, 11, 12]);
      expect((await c.store.eventsSince(2, 3)).map((e) => e.seq)).toEqual([3, 4, 5]);
      expect(await c.store.eventsSince(12)).toEqual([]);
    });

    it('list filters by status, severity, type, site, building and originator; newest first; pages with the full total', async () => {
      await c.store.record(alarm('old', 'sd-1', { startTs: T0 }), { type: 'raised', ts: T0 });
      await c.store.record(alarm('mid', 'sd-2', { startTs: T0 + 10, severity: 'major', type: 'heat', building: 'b2' }), { type: 'raised', ts: T0 });
      await c.store.record(alarm('new', 'sd-3', { startTs: T0 + 20, site: 's2' }), { type: 'raised', ts: T0 });
      await c.store.record(cleared(alarm('gone', 'sd-4', { startTs: T0 + 5 }), T0 + 6), { type: 'cleared', ts: T0 + 6 });
      const ids = async (q: Partial<Parameters<AlarmStore['list']>[0]>) => (await c.store.list({ limit: 100, offset: 0, ...q })).items.map((a) => a.id);
      expect(await ids({})).toEqual(['new', 'mid', 'gone', 'old']);
      expect(await ids({ status: 'active_unack' })).toEqual(['new', 'mid', 'old']);
      expect(await ids({ status: ['cleared_unack', 'cleared_ack'] })).toEqual(['gone']);
      expect(await ids({ severity: 'major' })).toEqual(['mid']);
      expect(await ids({ severity: ['major', 'critical'], site: 's1' })).toEqual(['mid', 'gone', 'old']);
      expect(await ids({ type: 'heat' })).toEqual(['mid']);
      expect(await ids({ building: 'b2' })).toEqual(['mid']);
      expect(await ids({ originatorId: 'sd-3' })).toEqual(['new']);
      expect(await ids({ site: 'nowhere' })).toEqual([]);
      // A caller's site scope: a set of sites, an empty one matching nothing, counted before paging.
      expect(await ids({ sites: ['s2', 'nowhere'] })).toEqual(['new']);
      expect(await ids({ sites: [] })).toEqual([]);
      expect(await c.store.list({ sites: ['s1'], limit: 1, offset: 1 })).toMatchObject({ total: 3, items: [{ id: 'gone' }] });
      const page = await c.store.list({ limit: 2, offset: 1 });
      expect(page.total).toBe(4);
      expect(page.items.map((a) => a.id)).toEqual(['mid', 'gone']);
    });

    it('pruneEvents drops old events only; alarms and the seq stay', async () => {
      await c.store.record(alarm('a', 'sd-1'), { type: 'raised', ts: T0 });
      await c.store.record(alarm('b', 'sd-2'), { type: 'raised', ts: T0 + 1_000 });
      expect(await c.store.pruneEvents(T0 + 500)).toBe(1);
      expect(await c.store.pruneEvents(T0 + 500)).toBe(0);
      expect((await c.store.eventsSince(0)).map((e) => e.alarm.id)).toEqual(['b']);
      expect(await c.store.get('a')).toBeDefined();
      expect(await c.store.lastSeq()).toBe(2);
      expect((await c.store.record(alarm('c', 'sd-3'), { type: 'raised', ts: T0 })).seq).toBe(3);
    });

    it('the seq carries on after every event was pruned and the store restarted (revisions never go back)', async () => {
      await c.store.record(alarm('a', 'sd-1'), { type: 'raised', ts: T0 });
      await c.store.record(alarm('a', 'sd-1', { rev: 1, status: 'active_ack', ackTs: T0 + 1 }), { type: 'acked', ts: T0 + 1 });
      expect(await c.store.pruneEvents(T0 + 10)).toBe(2);
      await c.reopen();
      expect(await c.store.lastSeq()).toBe(2);
      // A resumed SSE client (Last-Event-ID 2) must see the next event, and a copy read at rev 2 stays current.
      const next = await c.store.record(cleared(alarm('a', 'sd-1', { rev: 2, status: 'active_ack', ackTs: T0 + 1 }), T0 + 2), { type: 'cleared', ts: T0 + 2 });
      expect(next.seq).toBe(3);
      expect((await c.store.eventsSince(2)).map((e) => e.seq)).toEqual([3]);
    });

    it('rule state: upserts, deletes with undefined, keeps JSON values; the rules config lives apart', async () => {
      await c.store.saveRuleState(new Map<string, unknown>([['smoke/sd-1', { since: T0, n: 2 }], ['heat/sd-2', [1, 2, 3]], ['x', 'y']]));
      await c.store.saveRuleState(new Map<string, unknown>([['x', undefined], ['heat/sd-2', { v: 1 }]]));
      expect(await c.store.loadRuleState()).toEqual(new Map<string, unknown>([['smoke/sd-1', { since: T0, n: 2 }], ['heat/sd-2', { v: 1 }]]));
      await c.store.saveRulesConfig({ smoke: { threshold: 0.25 } });
      await c.store.saveRulesConfig({ smoke: { threshold: 0.3 } });
      expect(await c.store.loadRulesConfig()).toEqual({ smoke: { threshold: 0.3 } });
      expect([...(await c.store.loadRuleState()).keys()].sort()).toEqual(['heat/sd-2', 'smoke/sd-1']);
      // One device's entries (a device taken over from another node): those named that exist, never the rules config.
      expect(await c.store.loadRuleState(['smoke/sd-1', 'smoke/sd-9', 'rule_config'])).toEqual(new Map([['smoke/sd-1', { since: T0, n: 2 }]]));
      expect(await c.store.loadRuleState([])).toEqual(new Map());
    });

    it('rule state is taken as it was when saveRuleState was called: the caller may change its values at once', async () => {
      const live = { pts: [[T0, 20]], on: false };
      const saving = c.store.saveRuleState(new Map<string, unknown>([['heat/sd-1', live]]));
      live.pts.push([T0 + 1, 21]);
      live.on = true;
      await saving;
      expect(await c.store.loadRuleState()).toEqual(new Map([['heat/sd-1', { pts: [[T0, 20]], on: false }]]));
    });

    it('everything survives a restart, and the seq carries on', async () => {
      await c.store.record(alarm('a', 'sd-1'), { type: 'raised', ts: T0 });
      await c.store.saveRuleState(new Map([['k', { v: 1 }]]));
      await c.store.saveRulesConfig({ on: true });
      await c.reopen();
      expect(await c.store.lastSeq()).toBe(1);
      expect(await c.store.get('a')).toEqual({ ...alarm('a', 'sd-1'), rev: 1 });
      expect(await c.store.loadRuleState()).toEqual(new Map([['k', { v: 1 }]]));
      expect(await c.store.loadRulesConfig()).toEqual({ on: true });
      await expect(c.store.record(alarm('b', 'sd-1'), { type: 'raised', ts: T0 })).rejects.toBeInstanceOf(ActiveAlarmConflictError);
      expect((await c.store.record(alarm('c', 'sd-2'), { type: 'raised', ts: T0 })).seq).toBe(2);
    });
  });
}
