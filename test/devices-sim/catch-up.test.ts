import { describe, expect, it } from 'vitest';
import { chunduCommunity, type Device } from '../../core/index.js';
import { catchUpProfiles } from '../../devices-sim/catch-up.js';
import { createProfiles, parseRetrofits, retrofitSteps } from '../../devices-sim/index.js';

/**
 * Continuity between a backfill and the live fleet: profiles caught up an hour at a time (the
 * fleet's start, a backfill's unwritten part) reach the registers a 15-minute backfill over the
 * same period leaves — including the linked booster pump and master meter and a retrofit inside the
 * period — while a single jump over the period does not (why catching up exists).
 */
const DAY = 86_400_000;
const devices: Device[] = chunduCommunity().devices.map((d) => ({ ...d, name: d.name ?? d.id, createdAt: 0 }));
const origin = Date.UTC(2026, 9, 1, 16);
const end = origin + 20 * DAY;
const retrofits = parseRetrofits('led:2026-10-12,vfd:2026-10-12');
const profiles = () => createProfiles(devices, { seed: 2026, start: origin, scaleFor: (d) => retrofitSteps(retrofits, d) });
const register = (p: ReturnType<ReturnType<typeof profiles>['get']>, t: number) => {
  const r = p?.next(t) as Record<string, unknown>;
  return (r.energy ?? r.volume) as number;
};
const meters = ['chundu-pm-pump', 'chundu-b1-pm-lift', 'chundu-b2-pm-light', 'chundu-wm-master', 'chundu-b3-wm-301'];

describe('catchUpProfiles', () => {
  it('brings every register to where a 15-minute backfill leaves it', async () => {
    const backfilled = profiles();
    for (let t = origin; t < end; t += 15 * 60_000) for (const p of backfilled.values()) p.next(t);
    const caughtUp = profiles();
    await catchUpProfiles(caughtUp.values(), origin, end);
    for (const id of meters) {
      const expected = register(backfilled.get(id), end + 10_000);
      expect(register(caughtUp.get(id), end + 10_000), id).toBeCloseTo(expected, 2);
    }
  });

  it('is needed: a profile jumping over the whole period alone drifts for the linked meters', () => {
    const backfilled = profiles();
    for (let t = origin; t < end; t += 15 * 60_000) for (const p of backfilled.values()) p.next(t);
    const jumped = profiles();
    // The master meter moves first (as a live fleet's devices tick in any order), then the pump looks back.
    register(jumped.get('chundu-wm-master'), end);
    expect(Math.abs(register(jumped.get('chundu-pm-pump'), end + 10_000) - register(backfilled.get('chundu-pm-pump'), end + 10_000))).toBeGreaterThan(1);
  });

  it('stops when cancelled', async () => {
    const ps = profiles();
    let calls = 0;
    await catchUpProfiles(ps.values(), origin, end, { cancelled: () => ++calls > 3 });
    expect(calls).toBe(4);
  });
});
