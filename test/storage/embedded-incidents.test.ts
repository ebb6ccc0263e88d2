import { DuckDBConnection } from '@duckdb/node-api';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { ActiveIncidentConflictError, type Incident, type IncidentStore } from '../../storage/incidents/contract.js';
import type { StoreHarness } from './contract-scaffold.js';
import { embeddedStoreHarness } from './embedded-harness.js';
import { incident, incidentStoreContract } from './incident-store.contract.js';

incidentStoreContract('embedded DuckDB', embeddedStoreHarness('incidents', (db) => db.incidents));

describe('embedded incident store: a group is one call into DuckDB once its incidents are known', () => {
  const T0 = Date.UTC(2025, 2, 3);
  let harness: StoreHarness<IncidentStore>;
  beforeEach(async () => {
    harness = await embeddedStoreHarness('incidents-calls', (db) => db.incidents)();
  });
  afterEach(() => harness.cleanup());

  it('one script (writes, watermark, commit), the checks answered from memory; text comes back as it went', async () => {
    const text = "O'Brien \\ 王工 '); DROP TABLE incidents; --\n\"引号\"";
    const first = incident('i1', { building: text, assignee: text });
    const [raised] = await harness.store.recordMany([{ incident: first, event: { type: 'raised', ts: T0 } }]);
    const calls = vi.spyOn(DuckDBConnection.prototype, 'run');
    try {
      const grown: Incident = { ...raised!.incident, timeline: first.timeline, level: 'fire', members: [...first.members, { ...first.members[0]!, id: 'a-2' }] };
      const out = await harness.store.recordMany([
        { incident: grown, event: { type: 'updated', ts: T0 + 1, previousLevel: 'pre_alarm' } },
        { incident: incident('i2', { building: 'b2' }), event: { type: 'raised', ts: T0 + 1 } },
      ], 7);
      expect(out.map((e) => e.seq)).toEqual([2, 3]);
      expect(calls).toHaveBeenCalledTimes(1);
      expect(String(calls.mock.calls[0]?.[0])).toMatch(/^BEGIN TRANSACTION;[\s\S]*COMMIT$/);
    } finally {
      calls.mockRestore();
    }
    expect(await harness.store.get('i1')).toMatchObject({ building: text, assignee: text, level: 'fire', rev: 2 });
    expect((await harness.store.get('i1'))?.members.map((m) => m.id)).toEqual(['a-i1', 'a-2']);
    // The member that joined is indexed (written from what the store knew it had indexed, not read back).
    expect((await harness.store.list({ alarmId: 'a-2', limit: 10, offset: 0 })).items.map((i) => i.id)).toEqual(['i1']);
    expect(await harness.store.alarmWatermark()).toBe(7);
    await expect(harness.store.recordMany([{ incident: incident('i3', { building: text }), event: { type: 'raised', ts: T0 } }])).rejects.toBeInstanceOf(ActiveIncidentConflictError);
  });

  it('after a restart: a stored incident is read once, then known; a stale revision is still refused; members already indexed are not written again', async () => {
    const first = incident('i1');
    const [raised] = await harness.store.recordMany([{ incident: first, event: { type: 'raised', ts: T0 } }]);
    const store = await harness.reopen();
    const calls = vi.spyOn(DuckDBConnection.prototype, 'run');
    const runOf = () => calls.mock.calls.map((c) => String(c[0]));
    try {
      const grown: Incident = { ...raised!.incident, members: [...first.members, { ...first.members[0]!, id: 'a-2' }] };
      await expect(store.recordMany([{ incident: { ...grown, rev: 99 }, event: { type: 'updated', ts: T0 + 1 } }])).rejects.toThrow(/changed/i);
      calls.mockClear();
      const [joined] = await store.recordMany([{ incident: grown, event: { type: 'updated', ts: T0 + 1 } }]);
      // Known since the refused group read it: one call, and only the new member indexed.
      expect(runOf()).toHaveLength(1);
      expect(runOf()[0]).toMatch(/INSERT INTO anju_alarms\.main\.incident_members \(alarm_id, incident_id\) VALUES \('a-2', 'i1'\) ON CONFLICT/);
      calls.mockClear();
      await store.recordMany([{ incident: { ...joined!.incident, status: 'active_ack', ackTs: T0 + 2 }, event: { type: 'acked', ts: T0 + 2 } }]);
      expect(runOf()).toHaveLength(1);
      expect(runOf()[0]).not.toMatch(/incident_members/);
      await expect(store.recordMany([{ incident: { ...joined!.incident, status: 'cleared_ack' }, event: { type: 'cleared', ts: T0 + 3 } }])).rejects.toThrow(/changed/i);
    } finally {
      calls.mockRestore();
    }
    expect(await store.get('i1')).toMatchObject({ status: 'active_ack', rev: 3 });
  });

  it('an incident written without a revision that the store does not know is stored (a closed one, after a restart): the key refuses the INSERT, the group is checked against the table and written', async () => {
    const [raised] = await harness.store.recordMany([{ incident: incident('i1'), event: { type: 'raised', ts: T0 } }]);
    const [cleared] = await harness.store.recordMany([{ incident: { ...raised!.incident, status: 'cleared_ack', clearTs: T0 + 1 }, event: { type: 'cleared', ts: T0 + 1 } }]);
    const store = await harness.reopen();
    const { rev: _rev, ...unrevised } = cleared!.incident;
    const [commented] = await store.recordMany([{ incident: { ...unrevised, assignee: 'wang' }, event: { type: 'updated', ts: T0 + 2 } }]);
    expect(commented?.seq).toBe(3);
    expect(await store.get('i1')).toMatchObject({ status: 'cleared_ack', assignee: 'wang', rev: 3 });
    // And a new incident under the same key opens as usual.
    await store.recordMany([{ incident: incident('i2'), event: { type: 'raised', ts: T0 + 3 } }]);
    expect((await store.findActive({ site: 's1', building: 'b1', hazard: 'fire' }))?.id).toBe('i2');
  });

  it('a group changing many stored incidents stores each as its last version, as one with a few does', async () => {
    const many = Array.from({ length: 30 }, (_, i) => incident(`m${i}`, { building: `b${i}` }));
    const raised = await harness.store.recordMany(many.map((x) => ({ incident: x, event: { type: 'raised' as const, ts: T0 } })));
    const acked = await harness.store.recordMany(raised.map((e) => ({ incident: { ...e.incident, status: 'active_ack' as const, ackTs: T0 + 1 }, event: { type: 'acked' as const, ts: T0 + 1 } })));
    expect((await harness.store.get('m29'))).toMatchObject({ status: 'active_ack', ackTs: T0 + 1, rev: 60 });
    await harness.store.recordMany(acked.slice(0, 2).map((e) => ({ incident: { ...e.incident, level: 'fire' as const }, event: { type: 'updated' as const, ts: T0 + 2 } })));
    expect((await harness.store.get('m1'))).toMatchObject({ status: 'active_ack', level: 'fire', rev: 62 });
    expect((await harness.store.get('m2'))).toMatchObject({ level: 'pre_alarm', rev: 33 });
  });
});
