import { afterEach, describe, expect, it } from 'vitest';
import type { Device } from '../../core/index.js';
import { closeHarness, openHarness, removeTempDirs, T0, tempDir, toReading, type Harness } from './harness.js';

const sd: Device = { id: 'sd-1', kind: 'smoke_detector', site: 'chundu', building: 'b1', name: 'sd-1', createdAt: T0 };
const fire = { smoke: 0.8, temperature: 30, co: 5, alarm: true };

let h: Harness | undefined;
afterEach(async () => {
  if (h) await closeHarness(h);
  h = undefined;
  await removeTempDirs();
});

describe('one active alarm per (originator, type)', () => {
  it('200 concurrent triggers in the same millisecond → exactly one alarm, count 200', async () => {
    h = await openHarness({ dir: await tempDir(), devices: new Map([[sd.id, sd]]) });
    const engine = h.engine;
    // As two ingest connections would: separate accept calls, none awaited before the next starts.
    await Promise.all(Array.from({ length: 200 }, () => engine.accept([toReading(sd, 0, fire)])));
    const all = await engine.list({ limit: 100, offset: 0 });
    expect(all.total).toBe(1);
    expect(all.items[0]).toMatchObject({ type: 'smoke', status: 'active_unack', count: 200, originator: { kind: 'device', id: 'sd-1' } });
    expect(h.events.filter((e) => e.type === 'raised')).toHaveLength(1);
    expect(h.events.filter((e) => e.type === 'updated')).toHaveLength(199);
    expect(h.events.map((e) => e.seq)).toEqual(Array.from({ length: 200 }, (_, i) => i + 1));
    expect(engine.active()).toHaveLength(1);
    // The store agrees, and itself refuses a second active alarm for the key.
    const stored = await h.db.alarms.findActive({ originator: { kind: 'device', id: 'sd-1' }, type: 'smoke', site: 'chundu' });
    expect(stored?.count).toBe(200);
    const { rev: _rev, ...item } = all.items[0]!;
    const dup = { ...item, id: 'another-id', count: 1 };
    await expect(h.db.alarms.record(dup, { type: 'raised', ts: T0 })).rejects.toThrow(/already active/);
    expect((await h.db.alarms.lastSeq())).toBe(200);
  });

  it('200 triggers within one batch, and a mixed batch over two devices', async () => {
    const sd2: Device = { ...sd, id: 'sd-2', name: 'sd-2' };
    h = await openHarness({ dir: await tempDir(), devices: new Map([[sd.id, sd], [sd2.id, sd2]]) });
    const batch = Array.from({ length: 200 }, (_, i) => toReading(i % 2 ? sd2 : sd, 0, fire));
    await h.engine.accept(batch);
    const smoke = await h.engine.list({ type: 'smoke', limit: 10, offset: 0 });
    expect(smoke.items.map((a) => [a.originator.id, a.count]).sort()).toEqual([['sd-1', 100], ['sd-2', 100]]);
    // Two detectors of one building are two independent alarm signals (GB 50116-2013 §4.1.6): the
    // building's fire is confirmed once, however many readings repeat it.
    const confirmed = await h.engine.list({ type: 'fire_risk', limit: 10, offset: 0 });
    expect(confirmed.items.map((a) => [a.originator.id, a.count, a.details.devices])).toEqual([['b1', 1, ['sd-1', 'sd-2']]]);
  });
});
