import { expect, it } from 'vitest';
import { withContract, type StoreHarness } from './contract-scaffold.js';
import type { Alarm } from '../../storage/alarms/contract.js';
import { ActiveIncidentConflictError, IncidentChangedError, type Incident, type IncidentMember, type IncidentStore } from '../../storage/incidents/contract.js';

/**
 * The abstract IncidentStore suite: every implementation (embedded DuckDB now, PostgreSQL in
 * cluster mode) runs it through its own `*.test.ts`. `open` gives a fresh, empty store; `reopen`
 * closes it and opens a new one on the same storage (restart); `cleanup` closes and removes.
 */
export type IncidentStoreHarness = StoreHarness<IncidentStore>;

const T0 = Date.UTC(2025, 2, 3, 0, 0, 0);

const member = (id: string, device: string, over: Partial<IncidentMember> = {}): IncidentMember => ({
  id, type: 'smoke', originator: { kind: 'device', id: device }, site: 's1', building: 'b1', severity: 'critical', status: 'active_unack',
  startTs: T0, details: { smoke: 0.3 }, ...over,
});

export const incident = (id: string, over: Partial<Incident> = {}): Incident => ({
  id, hazard: 'fire', site: 's1', building: 'b1', level: 'pre_alarm', severity: 'critical', status: 'active_unack', startTs: T0, lastUpdateTs: T0,
  escalationLevel: 0, members: [member(`a-${id}`, 'sd-1')], timeline: [{ ts: T0, event: 'raised', actor: 'rule:incident' }], ...over,
});

const alarmOf = (id: string): Alarm => ({
  id, type: 'smoke', originator: { kind: 'device', id: 'sd-1' }, site: 's1', building: 'b1', severity: 'critical', status: 'active_unack',
  startTs: T0, lastUpdateTs: T0, escalationLevel: 0, count: 1, details: { smoke: 0.3 }, timeline: [{ ts: T0, event: 'raised' }],
});

export function incidentStoreContract(name: string, open: () => Promise<IncidentStoreHarness>): void {
  withContract(`IncidentStore contract: ${name}`, open, (c) => {

    it('stores a group in one call with consecutive seqs; each event keeps its snapshot, the incident ends as its last version', async () => {
      const a1 = incident('i1');
      const b1 = incident('i2', { building: 'b2', hazard: 'water', level: 'alarm', severity: 'major' });
      const a2: Incident = { ...a1, level: 'fire', lastUpdateTs: T0 + 5, members: [...a1.members, member('a-x', 'sd-2')] };
      const out = await c.store.recordMany([
        { incident: a1, event: { type: 'raised', ts: T0, alarm: alarmOf('a-i1') } },
        { incident: b1, event: { type: 'raised', ts: T0 } },
        { incident: a2, event: { type: 'updated', ts: T0 + 5, previousLevel: 'pre_alarm' } },
      ]);
      expect(out.map((e) => [e.seq, e.type, e.incident.id])).toEqual([[1, 'raised', 'i1'], [2, 'raised', 'i2'], [3, 'updated', 'i1']]);
      expect(out[0]?.alarm?.id).toBe('a-i1');
      expect(out[2]?.previousLevel).toBe('pre_alarm');
      expect(await c.store.lastSeq()).toBe(3);
      // Stored as its last version, at the revision of the event that wrote it.
      expect(await c.store.get('i1')).toEqual({ ...a2, rev: 3 });
      expect(out.map((e) => e.incident.rev)).toEqual([1, 2, 3]);
      const replay = await c.store.eventsSince(0);
      expect(replay.map((e) => [e.seq, e.incident.level])).toEqual([[1, 'pre_alarm'], [2, 'alarm'], [3, 'fire']]);
      expect(replay[0]?.alarm).toMatchObject({ id: 'a-i1', timeline: [] });
      // Events carry the incident without its timeline (an event row must not grow with the incident's history).
      expect(replay.map((e) => e.incident.timeline)).toEqual([[], [], []]);
      expect(out.map((e) => e.incident.timeline)).toEqual([[], [], []]);
      expect(replay[2]?.incident.members).toHaveLength(2);
      expect(replay[2]?.previousLevel).toBe('pre_alarm');
      expect(await c.store.eventsSince(2)).toHaveLength(1);
      expect(await c.store.eventsSince(0, 2)).toHaveLength(2);
    });

    it('refuses a second active incident under one key, whole group or none, and allows one once the first is cleared', async () => {
      await c.store.recordMany([{ incident: incident('i1'), event: { type: 'raised', ts: T0 } }]);
      await expect(c.store.recordMany([
        { incident: incident('other', { building: 'b9' }), event: { type: 'raised', ts: T0 } },
        { incident: incident('i2'), event: { type: 'raised', ts: T0 } },
      ])).rejects.toBeInstanceOf(ActiveIncidentConflictError);
      expect(await c.store.get('other')).toBeUndefined();
      expect(await c.store.lastSeq()).toBe(1);
      // Cleared, then a new one for the key, in one group: allowed in that order.
      const cleared: Incident = { ...incident('i1'), status: 'cleared_unack', clearTs: T0 + 1, lastUpdateTs: T0 + 1 };
      await c.store.recordMany([
        { incident: cleared, event: { type: 'cleared', ts: T0 + 1 } },
        { incident: incident('i2', { startTs: T0 + 2 }), event: { type: 'raised', ts: T0 + 2 } },
      ]);
      expect((await c.store.findActive({ site: 's1', building: 'b1', hazard: 'fire' }))?.id).toBe('i2');
      expect(await c.store.findActive({ site: 's1', building: 'b1', hazard: 'water' })).toBeUndefined();
    });

    it('refuses concurrent opens of the same key: exactly one wins', async () => {
      const results = await Promise.allSettled(Array.from({ length: 8 }, (_, k) =>
        c.store.recordMany([{ incident: incident(`c${k}`), event: { type: 'raised', ts: T0 } }])));
      expect(results.filter((r) => r.status === 'fulfilled')).toHaveLength(1);
      for (const r of results) if (r.status === 'rejected') expect(r.reason).toBeInstanceOf(ActiveIncidentConflictError);
      expect((await c.store.list({ status: ['active_unack', 'active_ack'], limit: 10, offset: 0 })).total).toBe(1);
    });

    it('writes an incident carrying its revision only at that revision: a stale copy is refused whole, the current one goes in', async () => {
      const [raised] = await c.store.recordMany([{ incident: incident('i1'), event: { type: 'raised', ts: T0 } }]);
      const read = await c.store.get('i1');
      expect(read?.rev).toBe(raised?.seq);
      // Another writer (another node) acknowledges it from the copy it read…
      const [acked] = await c.store.recordMany([{ incident: { ...read!, status: 'active_ack', ackTs: T0 + 1, lastUpdateTs: T0 + 1 }, event: { type: 'acked', ts: T0 + 1 } }]);
      expect(acked?.incident.rev).toBe(acked?.seq);
      // …so a change built on the older copy would undo the acknowledgement: refused, with the other entries of its group.
      const stale = { ...read!, members: [...read!.members, member('a-late', 'sd-2')], lastUpdateTs: T0 + 2 };
      const err = await c.store.recordMany([
        { incident: incident('i9', { building: 'b9' }), event: { type: 'raised', ts: T0 + 2 } },
        { incident: stale, event: { type: 'updated', ts: T0 + 2 } },
      ]).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(IncidentChangedError);
      expect(err).toMatchObject({ code: 'incident_changed', incidentId: 'i1' });
      expect(await c.store.get('i9')).toBeUndefined();
      expect(await c.store.lastSeq()).toBe(acked?.seq);
      // Read again and decided again: accepted, and the acknowledgement stays.
      const fresh = await c.store.get('i1');
      expect(fresh).toMatchObject({ status: 'active_ack', rev: acked?.seq });
      const [joined] = await c.store.recordMany([{ incident: { ...fresh!, members: [...fresh!.members, member('a-late', 'sd-2')] }, event: { type: 'updated', ts: T0 + 2 } }]);
      expect(await c.store.get('i1')).toMatchObject({ status: 'active_ack', rev: joined?.seq, members: [{ id: 'a-i1' }, { id: 'a-late' }] });
      // Later entries of the same incident in one group build on the first: one check per incident.
      const now = (await c.store.get('i1'))!;
      const out = await c.store.recordMany([
        { incident: { ...now, assignee: 'wang' }, event: { type: 'assigned', ts: T0 + 3 } },
        { incident: { ...now, assignee: 'li' }, event: { type: 'assigned', ts: T0 + 4 } },
      ]);
      expect(await c.store.get('i1')).toMatchObject({ assignee: 'li', rev: out[1]?.seq });
      // A copy of an incident never stored, carrying a revision, is stale too.
      await expect(c.store.recordMany([{ incident: incident('ghost', { building: 'b7', rev: 1 }), event: { type: 'raised', ts: T0 } }]))
        .rejects.toBeInstanceOf(IncidentChangedError);
    });

    it('two writers from the same revision: exactly one change is stored, the other is refused as changed', async () => {
      await c.store.recordMany([{ incident: incident('i1'), event: { type: 'raised', ts: T0 } }]);
      const read = (await c.store.get('i1'))!;
      const results = await Promise.allSettled(Array.from({ length: 6 }, (_, k) => c.store.recordMany([
        { incident: { ...read, assignee: `p${k}`, lastUpdateTs: T0 + k }, event: { type: 'assigned', ts: T0 + k } },
      ])));
      expect(results.filter((r) => r.status === 'fulfilled')).toHaveLength(1);
      for (const r of results) if (r.status === 'rejected') expect(r.reason).toBeInstanceOf(IncidentChangedError);
      const won = results.findIndex((r) => r.status === 'fulfilled');
      expect((await c.store.get('i1'))?.assignee).toBe(`p${won}`);
    });

    it('lists newest first with filters, including by member alarm; total counts every match', async () => {
      await c.store.recordMany([
        { incident: incident('i1', { startTs: T0 }), event: { type: 'raised', ts: T0 } },
        { incident: incident('i2', { startTs: T0 + 10, building: 'b2', hazard: 'water', level: 'alarm', severity: 'major' }), event: { type: 'raised', ts: T0 + 10 } },
        { incident: incident('i3', { startTs: T0 + 20, site: 's2', status: 'cleared_ack', clearTs: T0 + 30 }), event: { type: 'raised', ts: T0 + 20 } },
      ]);
      const ids = async (q: Parameters<IncidentStore['list']>[0]) => (await c.store.list(q)).items.map((i) => i.id);
      expect(await ids({ limit: 10, offset: 0 })).toEqual(['i3', 'i2', 'i1']);
      expect(await ids({ limit: 1, offset: 1 })).toEqual(['i2']);
      expect((await c.store.list({ limit: 1, offset: 0 })).total).toBe(3);
      expect(await ids({ status: ['active_unack', 'active_ack'], limit: 10, offset: 0 })).toEqual(['i2', 'i1']);
      expect(await ids({ hazard: 'water', limit: 10, offset: 0 })).toEqual(['i2']);
      expect(await ids({ level: ['fire', 'pre_alarm'], limit: 10, offset: 0 })).toEqual(['i3', 'i1']);
      expect(await ids({ severity: 'major', limit: 10, offset: 0 })).toEqual(['i2']);
      expect(await ids({ site: 's1', building: 'b1', limit: 10, offset: 0 })).toEqual(['i1']);
      expect(await ids({ alarmId: 'a-i2', limit: 10, offset: 0 })).toEqual(['i2']);
      expect(await ids({ sites: ['s2'], limit: 10, offset: 0 })).toEqual(['i3']);
      expect(await ids({ sites: [], limit: 10, offset: 0 })).toEqual([]);
      expect(await c.store.list({ sites: ['s1', 'nowhere'], limit: 1, offset: 1 })).toMatchObject({ total: 2, items: [{ id: 'i1' }] });
      expect(await ids({ status: [], limit: 10, offset: 0 })).toEqual([]);
      await expect(c.store.list({ limit: -1, offset: 0 })).rejects.toThrow(RangeError);
    });

    it('lists by assignee: an account id or free text, exactly', async () => {
      await c.store.recordMany([
        { incident: incident('i1', { startTs: T0, assignee: 'li.na' }), event: { type: 'raised', ts: T0 } },
        { incident: incident('i2', { startTs: T0 + 10, building: 'b2', assignee: '3号楼物业' }), event: { type: 'raised', ts: T0 + 10 } },
        { incident: incident('i3', { startTs: T0 + 20, building: 'b3', assignee: 'li.na' }), event: { type: 'raised', ts: T0 + 20 } },
        { incident: incident('i4', { startTs: T0 + 30, building: 'b4' }), event: { type: 'raised', ts: T0 + 30 } },
      ]);
      const page = await c.store.list({ assignee: 'li.na', limit: 10, offset: 0 });
      expect([page.items.map((i) => i.id), page.total]).toEqual([['i3', 'i1'], 2]);
      expect((await c.store.list({ assignee: '3号楼物业', limit: 10, offset: 0 })).items.map((i) => i.id)).toEqual(['i2']);
      expect((await c.store.list({ assignee: 'li', limit: 10, offset: 0 })).total).toBe(0);
    });

    it('keeps the alarm watermark with the group, never moving it back, and everything across a restart', async () => {
      expect(await c.store.alarmWatermark()).toBe(0);
      await c.store.recordMany([{ incident: incident('i1'), event: { type: 'raised', ts: T0 } }], 41);
      expect(await c.store.alarmWatermark()).toBe(41);
      await c.store.saveAlarmWatermark(57);
      await c.store.saveAlarmWatermark(12);
      await c.store.recordMany([], 50);
      expect(await c.store.alarmWatermark()).toBe(57);
      await c.reopen();
      expect(await c.store.alarmWatermark()).toBe(57);
      expect(await c.store.lastSeq()).toBe(1);
      expect((await c.store.findActive({ site: 's1', building: 'b1', hazard: 'fire' }))?.id).toBe('i1');
      const [next] = await c.store.recordMany([{ incident: { ...incident('i1'), status: 'active_ack', ackTs: T0 + 9 }, event: { type: 'acked', ts: T0 + 9 } }]);
      expect(next?.seq).toBe(2);
    });

    it('keeps an incident\'s proposals with it and the proposal an event is about, across a restart', async () => {
      const proposal = {
        id: 'p1', alarmId: 'a-i1', alarmType: 'residual_current', device: 'pm-lift', command: 'open' as const, mode: 'propose' as const, status: 'proposed' as const,
        createdAt: T0, interlock: { code: 'interlock_power_continuity' as const, reason: 'the circuit feeds elevator', standard: 'GB 50016-2014 §7.3, §10.1' },
      };
      const raised = incident('i1', { hazard: 'electrical', level: 'alarm', proposals: [proposal] });
      const decided = { ...raised, lastUpdateTs: T0 + 60_000, proposals: [{ ...proposal, status: 'rejected' as const, decidedAt: T0 + 60_000, decidedBy: 'li' }] };
      await c.store.recordMany([
        { incident: raised, event: { type: 'raised', ts: T0, response: { proposalId: 'p1', step: 'proposed' } } },
        { incident: decided, event: { type: 'updated', ts: T0 + 60_000, response: { proposalId: 'p1', step: 'rejected' } } },
        { incident: incident('i2', { building: 'b2' }), event: { type: 'raised', ts: T0 } },
      ]);
      await c.reopen();
      expect(await c.store.get('i1')).toEqual({ ...decided, rev: expect.any(Number) as number });
      // An incident nothing was proposed for has no proposals at all.
      expect((await c.store.get('i2'))?.proposals).toBeUndefined();
      const events = await c.store.eventsSince(0);
      expect(events.map((e) => e.response)).toEqual([{ proposalId: 'p1', step: 'proposed' }, { proposalId: 'p1', step: 'rejected' }, undefined]);
      expect(events.map((e) => e.incident.proposals?.[0]?.status)).toEqual(['proposed', 'rejected', undefined]);
    });

    it('the seq carries on after every event was pruned and the store restarted', async () => {
      await c.store.recordMany([
        { incident: incident('i1'), event: { type: 'raised', ts: T0 } },
        { incident: { ...incident('i1'), status: 'active_ack', ackTs: T0 + 100 }, event: { type: 'acked', ts: T0 + 100 } },
      ]);
      expect(await c.store.pruneEvents(T0 + 1_000)).toBe(2);
      await c.reopen();
      expect(await c.store.lastSeq()).toBe(2);
      const [next] = await c.store.recordMany([{ incident: incident('i1', { rev: 2, status: 'active_ack', ackTs: T0 + 100, assignee: 'w' }), event: { type: 'assigned', ts: T0 + 200 } }]);
      expect(next?.seq).toBe(3);
    });

    it('prunes old events, not incidents', async () => {
      await c.store.recordMany([
        { incident: incident('i1'), event: { type: 'raised', ts: T0 } },
        { incident: { ...incident('i1'), status: 'active_ack', ackTs: T0 + 100 }, event: { type: 'acked', ts: T0 + 100 } },
      ]);
      expect(await c.store.pruneEvents(T0 + 50)).toBe(1);
      expect((await c.store.eventsSince(0)).map((e) => e.seq)).toEqual([2]);
      expect((await c.store.get('i1'))?.status).toBe('active_ack');
    });
  });
}
