import { describe, expect, it } from 'vitest';
import { createStoredAlarmIndex } from '../../storage/embedded/alarm-index.js';
import { alarmKey, type Alarm } from '../../storage/index.js';

const alarm = (id: string, device: string, status: Alarm['status'] = 'active_unack'): Alarm => ({
  id, type: 'smoke', originator: { kind: 'device', id: device }, site: 's1', building: 'b1', severity: 'critical', status,
  startTs: 0, lastUpdateTs: 0, escalationLevel: 0, count: 1, details: {}, timeline: [],
});
const keyOf = (device: string) => alarmKey({ originator: { kind: 'device', id: device }, type: 'smoke', site: 's1' });

describe('stored alarm index (what the embedded alarm store knows of its table)', () => {
  it('must be loaded before it answers for active keys; loading replaces what it held', () => {
    const index = createStoredAlarmIndex();
    expect(index.loaded).toBe(false);
    expect(() => index.activeFor('k')).toThrow(/before its active keys were loaded/);
    index.load([{ id: 'a', key: 'k' }]);
    expect(index.activeFor('k')).toBe('a');
    expect(index.stored('a')).toBe(true);
    expect(index.knowsRevision('a')).toBe(false);
    index.load([]);
    expect(index.activeFor('k')).toBeUndefined();
    expect(index.stored('a')).toBe(false);
  });

  it('follows committed groups: keys taken and freed, revisions remembered; forget empties it', () => {
    const index = createStoredAlarmIndex();
    index.load([]);
    index.committed([alarm('a', 'sd-1'), alarm('b', 'sd-2')], (id) => (id === 'a' ? 1 : 2));
    expect([index.activeFor(keyOf('sd-1')), index.activeFor(keyOf('sd-2')), index.revision('a')]).toEqual(['a', 'b', 1]);
    index.committed([alarm('a', 'sd-1', 'cleared_unack')], () => 3);
    expect([index.activeFor(keyOf('sd-1')), index.revision('a')]).toEqual([undefined, 3]);
    expect(index.stored('a')).toBe(true); // known by its revision, though it holds no key now
    index.committed([{ ...alarm('b', 'sd-2'), type: 'heat' }], () => 4); // b rewritten under another key
    expect([index.activeFor(keyOf('sd-2')), index.activeFor(alarmKey({ originator: { kind: 'device', id: 'sd-2' }, type: 'heat', site: 's1' }))]).toEqual([undefined, 'b']);
    index.forget();
    expect(index.loaded).toBe(false);
    expect(index.stored('a')).toBe(false);
  });

  it('keeps at most maxRevisions, dropping the least recently written; learns revisions read from the table', () => {
    const index = createStoredAlarmIndex({ maxRevisions: 2 });
    index.load([]);
    index.learn([{ id: 'x', rev: 5 }, { id: 'y', rev: undefined }]);
    expect(index.knowsRevision('y')).toBe(true);
    expect(index.revision('y')).toBeUndefined();
    index.committed([alarm('x', 'sd-1', 'cleared_unack')], () => 6); // x written again: the newest
    index.learn([{ id: 'z', rev: 7 }]); // y, the least recently written, goes
    expect([index.knowsRevision('x'), index.knowsRevision('y'), index.knowsRevision('z')]).toEqual([true, false, true]);
    expect(index.revision('x')).toBe(6);
  });
});
