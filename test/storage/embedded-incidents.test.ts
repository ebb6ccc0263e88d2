import { DuckDBConnection } from '@duckdb/node-api';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { ActiveIncidentConflictError, type Incident, type IncidentStore } from '../../storage/incidents/contract.js';
import type { StoreHarness } from './contract-scaffold.js';
import { embeddedStoreHarness } from './embedded-harness.js';
import { incident, incidentStoreContract } from './incident-store.contract.js';

incidentStoreContract('embedded DuckDB', embeddedStoreHarness('incidents', (db) => db.incidents));

describe('embedded incident store: a group is two calls into DuckDB', () => {
  const T0 = Date.UTC(2025, 2, 3);
  let harness: StoreHarness<IncidentStore>;
  beforeEach(async () => {
    harness = await embeddedStoreHarness('incidents-calls', (db) => db.incidents)();
  });
  afterEach(() => harness.cleanup());

  it('one read (revisions, key holders, indexed members) and one script (writes, watermark, commit); text comes back as it went', async () => {
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
      expect(calls).toHaveBeenCalledTimes(2);
    } finally {
      calls.mockRestore();
    }
    expect(await harness.store.get('i1')).toMatchObject({ building: text, assignee: text, level: 'fire', rev: 2 });
    expect((await harness.store.get('i1'))?.members.map((m) => m.id)).toEqual(['a-i1', 'a-2']);
    expect(await harness.store.alarmWatermark()).toBe(7);
    await expect(harness.store.recordMany([{ incident: incident('i3', { building: text }), event: { type: 'raised', ts: T0 } }])).rejects.toBeInstanceOf(ActiveIncidentConflictError);
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
