import { DuckDBConnection } from '@duckdb/node-api';
import { describe, expect, it, vi } from 'vitest';
import { ActiveAlarmConflictError, AlarmChangedError } from '../../storage/index.js';
import { alarm, embeddedDatabasePerTest, T0 } from './embedded-alarms.helpers.js';

const t = embeddedDatabasePerTest();

describe('embedded alarm store: recordMany (group commit)', () => {
  it('stores many events in one call with consecutive seqs; the alarm ends as its last version, each event keeps its snapshot', async () => {
    const a1 = alarm('a', 'sd-1');
    const b1 = alarm('b', 'sd-2');
    const a2 = { ...a1, count: 2, lastUpdateTs: T0 + 1 };
    const a3 = { ...a2, status: 'cleared_unack' as const, clearTs: T0 + 2, lastUpdateTs: T0 + 2 };
    const a4 = alarm('a2', 'sd-1', { startTs: T0 + 3, lastUpdateTs: T0 + 3 }); // raised again under the key a just left
    const out = await t.db.alarms.recordMany([
      { alarm: a1, event: { type: 'raised', ts: T0 } },
      { alarm: b1, event: { type: 'raised', ts: T0 } },
      { alarm: a2, event: { type: 'updated', ts: T0 + 1 } },
      { alarm: a3, event: { type: 'cleared', ts: T0 + 2 } },
      { alarm: a4, event: { type: 'raised', ts: T0 + 3 } },
    ]);
    expect(out.map((e) => [e.seq, e.type, e.alarm.id])).toEqual([[1, 'raised', 'a'], [2, 'raised', 'b'], [3, 'updated', 'a'], [4, 'cleared', 'a'], [5, 'raised', 'a2']]);
    expect(await t.db.alarms.lastSeq()).toBe(5);
    expect(await t.db.alarms.get('a')).toMatchObject({ status: 'cleared_unack', count: 2, clearTs: T0 + 2 });
    expect((await t.db.alarms.findActive({ originator: { kind: 'device', id: 'sd-1' }, type: 'smoke', site: 's1' }))?.id).toBe('a2');
    const events = await t.db.alarms.eventsSince(0);
    expect(events.map((e) => [e.seq, e.alarm.status, e.alarm.count])).toEqual([[1, 'active_unack', 1], [2, 'active_unack', 1], [3, 'active_unack', 2], [4, 'cleared_unack', 2], [5, 'active_unack', 1]]);
    expect(await t.db.alarms.recordMany([])).toEqual([]);
  });

  it('refuses a group that would make a second alarm active under a key — whole, without using a seq', async () => {
    await t.db.alarms.record(alarm('a', 'sd-1'), { type: 'raised', ts: T0 });
    // Against the table …
    await expect(t.db.alarms.recordMany([
      { alarm: alarm('x', 'sd-9'), event: { type: 'raised', ts: T0 } },
      { alarm: alarm('b', 'sd-1'), event: { type: 'raised', ts: T0 } },
    ])).rejects.toBeInstanceOf(ActiveAlarmConflictError);
    // … and within the group.
    await expect(t.db.alarms.recordMany([
      { alarm: alarm('c', 'sd-2'), event: { type: 'raised', ts: T0 } },
      { alarm: alarm('d', 'sd-2'), event: { type: 'raised', ts: T0 } },
    ])).rejects.toThrow(/already active/);
    expect(await t.db.alarms.get('x')).toBeUndefined();
    expect(await t.db.alarms.get('c')).toBeUndefined();
    expect(await t.db.alarms.lastSeq()).toBe(1);
    // Clearing first makes room, in the same group; seqs continue without a gap.
    const out = await t.db.alarms.recordMany([
      { alarm: alarm('a', 'sd-1', { status: 'cleared_unack', clearTs: T0 + 1 }), event: { type: 'cleared', ts: T0 + 1 } },
      { alarm: alarm('b', 'sd-1'), event: { type: 'raised', ts: T0 + 1 } },
    ]);
    expect(out.map((e) => e.seq)).toEqual([2, 3]);
  });

  it('a large group (more rows than one INSERT statement takes) and the seq survive reopening', async () => {
    const many = Array.from({ length: 450 }, (_, i) => ({ alarm: alarm(`m${i}`, `sd-${i}`), event: { type: 'raised' as const, ts: T0 + i } }));
    const out = await t.db.alarms.recordMany(many);
    expect(out.at(-1)?.seq).toBe(450);
    expect((await t.db.alarms.list({ status: 'active_unack', limit: 1, offset: 0 })).total).toBe(450);
    // All of them acknowledged in one group (stored rows beyond a few go as upserts), and three more (one UPDATE each).
    const acked = await t.db.alarms.recordMany(out.map((e) => ({ alarm: { ...e.alarm, status: 'active_ack' as const, ackTs: T0 + 1 }, event: { type: 'acked' as const, ts: T0 + 1 } })));
    expect((await t.db.alarms.list({ status: 'active_ack', limit: 1, offset: 0 })).total).toBe(450);
    await t.db.alarms.recordMany(acked.slice(0, 3).map((e) => ({ alarm: { ...e.alarm, status: 'cleared_ack' as const, clearTs: T0 + 2 }, event: { type: 'cleared' as const, ts: T0 + 2 } })));
    expect(await t.db.alarms.get('m2')).toMatchObject({ status: 'cleared_ack', clearTs: T0 + 2, rev: 903 });
    expect(await t.db.alarms.get('m3')).toMatchObject({ status: 'active_ack', ackTs: T0 + 1, rev: 454 });
    await t.reopen();
    expect(await t.db.alarms.lastSeq()).toBe(903);
    const next = await t.db.alarms.record(alarm('n', 'sd-new'), { type: 'raised', ts: T0 });
    expect(next.seq).toBe(904);
  });

  it('writes a group in one call into DuckDB once it knows the table: no read before the write', async () => {
    await t.db.alarms.record(alarm('warm', 'sd-0'), { type: 'raised', ts: T0 }); // the first group loads the active keys
    const calls = vi.spyOn(DuckDBConnection.prototype, 'run');
    try {
      const [raised] = await t.db.alarms.recordMany([{ alarm: alarm('a', 'sd-1'), event: { type: 'raised', ts: T0 } }]);
      expect(calls).toHaveBeenCalledTimes(1);
      await t.db.alarms.recordMany([
        { alarm: { ...raised!.alarm, status: 'active_ack', ackTs: T0 + 1, lastUpdateTs: T0 + 1 }, event: { type: 'acked', ts: T0 + 1 } },
        { alarm: alarm('b', 'sd-2'), event: { type: 'raised', ts: T0 + 1 } },
      ]);
      expect(calls).toHaveBeenCalledTimes(2);
    } finally {
      calls.mockRestore();
    }
    expect(await t.db.alarms.get('a')).toMatchObject({ status: 'active_ack', ackTs: T0 + 1, rev: 3 });
    expect(await t.db.alarms.get('b')).toMatchObject({ status: 'active_unack', rev: 4 });
  });

  it('after reopening, checks what it has not seen against the table: active keys, revisions, and writes without a revision', async () => {
    const [a] = await t.db.alarms.recordMany([
      { alarm: alarm('a', 'sd-1'), event: { type: 'raised', ts: T0 } },
      { alarm: alarm('b', 'sd-2'), event: { type: 'raised', ts: T0 } },
      { alarm: alarm('b', 'sd-2', { status: 'cleared_unack', clearTs: T0 }), event: { type: 'cleared', ts: T0 } },
    ]);
    await t.reopen();
    // sd-1's key is held by a, stored before the reopen.
    await expect(t.db.alarms.record(alarm('c', 'sd-1'), { type: 'raised', ts: T0 + 1 })).rejects.toBeInstanceOf(ActiveAlarmConflictError);
    // A stale revision of a is refused; the current one goes in.
    await expect(t.db.alarms.record({ ...a!.alarm, rev: 99 }, { type: 'acked', ts: T0 + 1 })).rejects.toBeInstanceOf(AlarmChangedError);
    const acked = await t.db.alarms.record({ ...a!.alarm, status: 'active_ack', ackTs: T0 + 1 }, { type: 'acked', ts: T0 + 1 });
    expect(acked.seq).toBe(4);
    // b (cleared, so holding no key) written without a revision — a blind write, unchecked by contract —
    // in a group with a new alarm: taken for new, refused by the primary key, checked against the
    // table and written again; nothing lost, no seq skipped.
    const out = await t.db.alarms.recordMany([
      { alarm: alarm('d', 'sd-3'), event: { type: 'raised', ts: T0 + 2 } },
      { alarm: alarm('b', 'sd-2', { status: 'cleared_ack', clearTs: T0, ackTs: T0 + 2 }), event: { type: 'acked', ts: T0 + 2 } },
    ]);
    expect(out.map((e) => e.seq)).toEqual([5, 6]);
    expect(await t.db.alarms.get('b')).toMatchObject({ status: 'cleared_ack', ackTs: T0 + 2, rev: 6 });
    expect(await t.db.alarms.get('d')).toMatchObject({ status: 'active_unack', rev: 5 });
    expect((await t.db.alarms.eventsSince(0)).map((e) => e.seq)).toEqual([1, 2, 3, 4, 5, 6]);
    // What that group taught it holds: sd-2's key is free, sd-3's is taken.
    await t.db.alarms.record(alarm('e', 'sd-2'), { type: 'raised', ts: T0 + 3 });
    await expect(t.db.alarms.record(alarm('f', 'sd-3'), { type: 'raised', ts: T0 + 3 })).rejects.toBeInstanceOf(ActiveAlarmConflictError);
  });

  it('stores text as it came: quotes, backslashes, SQL, newlines, NUL and Chinese survive the script', async () => {
    const text = "O'Brien \\ 王工 '); DROP TABLE alarms; --\n\t\"引号\" \\'";
    const a = alarm("id'1", 'sd-1', { building: text, assignee: text, details: { note: text, smoke: 0.5 } });
    await t.db.alarms.record(a, { type: 'raised', ts: T0 });
    expect(await t.db.alarms.get("id'1")).toEqual({ ...a, rev: 1 });
    expect((await t.db.alarms.eventsSince(0))[0]?.alarm).toEqual({ ...a, rev: 1 });
    const nul = alarm('nul', 'sd-2', { building: 'a\u0000b', details: { note: '\u0000' } });
    await t.db.alarms.record(nul, { type: 'raised', ts: T0 });
    expect(await t.db.alarms.get('nul')).toEqual({ ...nul, rev: 2 });
  });
});
