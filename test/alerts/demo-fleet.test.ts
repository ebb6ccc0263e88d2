import { afterAll, describe, expect, it } from 'vitest';
import { chunduCommunity, kindOf, type Device } from '../../core/index.js';
import { createProfiles } from '../../devices-sim/index.js';
import { closeHarness, openHarness, removeTempDirs, T0, tempDir } from './harness.js';

/**
 * The simulator's everyday baseline (cooking, dust, drop-offs, night-time water, evening power
 * peaks) over two days of the demo community must not raise a safety alarm: the rules' thresholds
 * sit above normal life. Bins filling towards a collection are real work, not nuisance, so
 * bin_fill / bin_time_to_full may appear; nothing else may.
 */
afterAll(removeTempDirs);

describe('demo community baseline', () => {
  it('two simulated days raise no fire, electrical, water or device-health alarm', async () => {
    const community = chunduCommunity();
    const devices = new Map<string, Device>(community.devices.map((d) => [d.id, { ...d, name: d.name ?? d.id, createdAt: T0 }]));
    const profiles = createProfiles([...devices.values()], { seed: 7, start: T0 });
    const h = await openHarness({ dir: await tempDir(), devices });
    const end = T0 + 2 * 24 * 3600_000;
    const nextAt = new Map([...devices.values()].map((d) => [d.id, T0]));
    for (let now = T0; now <= end; now += 60_000) {
      const batch = [];
      for (const d of devices.values()) {
        if ((nextAt.get(d.id) ?? Infinity) > now) continue;
        nextAt.set(d.id, now + kindOf(d.kind).reportingIntervalS * 1000);
        const { ts: _ts, seq: _seq, ...fields } = profiles.get(d.id)!.next(now);
        batch.push({ device: d.id, kind: d.kind, site: d.site, building: d.building, ...(d.category ? { category: d.category } : {}), ts: now, fields: fields as Record<string, number | boolean> });
      }
      if (batch.length) await h.engine.accept(batch);
      await h.engine.tick(now);
    }
    const raised = h.events.filter((e) => e.type === 'raised').map((e) => `${e.alarm.type}:${e.alarm.originator.id}`);
    await closeHarness(h);
    expect(raised.filter((r) => !r.startsWith('bin_'))).toEqual([]);
  }, 120_000);
});
