import { DuckDBConnection } from '@duckdb/node-api';
import type * as AlarmIndex from '../../storage/embedded/alarm-index.js';
import { describe, expect, it, vi } from 'vitest';
import { ActiveAlarmConflictError, AlarmChangedError } from '../../storage/index.js';
import { alarm, embeddedDatabasePerTest, T0 } from './embedded-alarms.helpers.js';

// The index's revision bound made 2, so that pushing revisions out needs 3 alarms, not 100,000.
vi.mock('../../storage/embedded/alarm-index.js', async (orig) => {
  const m = await orig<typeof AlarmIndex>();
  return { ...m, createStoredAlarmIndex: (c: { maxRevisions?: number } = {}) => m.createStoredAlarmIndex({ maxRevisions: 2, ...c }) };
});

const t = embeddedDatabasePerTest();

describe('embedded alarm store: its index at the edges (revision bound 2)', () => {
  it('a group whose revisions push one another out of the index is still checked on what it knew: both current, both stored', async () => {
    const [a] = await t.db.alarms.recordMany([{ alarm: alarm('a', 'sd-1'), event: { type: 'raised', ts: T0 } }]);
    const [b] = await t.db.alarms.recordMany([{ alarm: alarm('b', 'sd-2'), event: { type: 'raised', ts: T0 } }]);
    await t.db.alarms.recordMany([{ alarm: alarm('c', 'sd-3'), event: { type: 'raised', ts: T0 } }]); // a's revision goes: the index holds b, c
    // b is known (the least recently written), a is read from the table — which pushes b out mid-check.
    const out = await t.db.alarms.recordMany([
      { alarm: { ...b!.alarm, status: 'active_ack', ackTs: T0 + 1 }, event: { type: 'acked', ts: T0 + 1 } },
      { alarm: { ...a!.alarm, status: 'active_ack', ackTs: T0 + 1 }, event: { type: 'acked', ts: T0 + 1 } },
    ]);
    expect(out.map((e) => e.seq)).toEqual([4, 5]);
    // And a stale revision of a pushed-out alarm is still refused, read from the table.
    await expect(t.db.alarms.record({ ...b!.alarm, status: 'active_ack' }, { type: 'acked', ts: T0 + 2 })).rejects.toBeInstanceOf(AlarmChangedError);
  });

  it('an alarm rewritten under another key frees its old key (the contract replaces by id)', async () => {
    const [a] = await t.db.alarms.recordMany([{ alarm: alarm('a', 'sd-1'), event: { type: 'raised', ts: T0 } }]);
    await t.db.alarms.record({ ...a!.alarm, type: 'heat' }, { type: 'updated', ts: T0 + 1 });
    expect(await t.db.alarms.findActive({ originator: { kind: 'device', id: 'sd-1' }, type: 'smoke', site: 's1' })).toBeUndefined();
    await t.db.alarms.record(alarm('b', 'sd-1'), { type: 'raised', ts: T0 + 2 });
    await expect(t.db.alarms.record(alarm('c', 'sd-1', { type: 'heat' }), { type: 'raised', ts: T0 + 3 })).rejects.toBeInstanceOf(ActiveAlarmConflictError);
  });

  it('a NUL in free text is stored as it came, in one call', async () => {
    const [a] = await t.db.alarms.recordMany([{ alarm: alarm('a', 'sd-1'), event: { type: 'raised', ts: T0 } }]);
    const calls = vi.spyOn(DuckDBConnection.prototype, 'run');
    try {
      await t.db.alarms.record({ ...a!.alarm, assignee: 'team\u0000x\u0000' }, { type: 'assigned', ts: T0 + 1 });
      expect(calls).toHaveBeenCalledTimes(1);
    } finally {
      calls.mockRestore();
    }
    expect((await t.db.alarms.get('a'))?.assignee).toBe('team\u0000x\u0000');
    // Many NULs in one value: still one expression, not one nested level per NUL.
    const many = 'x\u0000'.repeat(2_000);
    await t.db.alarms.record({ ...a!.alarm, assignee: many, rev: 2 }, { type: 'assigned', ts: T0 + 2 });
    expect((await t.db.alarms.get('a'))?.assignee).toBe(many);
  });
});
