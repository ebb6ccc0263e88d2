import { pino } from 'pino';
import { describe, expect, it } from 'vitest';
import { chunduCommunity, type Device, type Reading } from '../../core/index.js';
import { catchUpProfiles } from '../../devices-sim/catch-up.js';
import { createProfiles, runBackfill, type Profile } from '../../devices-sim/index.js';
import type { TelemetryStore } from '../../storage/contract.js';

/**
 * The backfill hands its profiles to the live fleet (BackfillDeps.handOver → FleetConfig.continueFrom):
 * they arrive stepped to the last written instant, and continued from there they give the registers
 * the fleet's own catch-up from the start of the history gives — the same continuity, one catch-up.
 * A backfill that is stopped hands nothing over (the fleet then catches up on its own).
 */
const DAY = 86_400_000;
const STEP = 15 * 60_000;
const devices: Device[] = chunduCommunity().devices.map((d) => ({ ...d, name: d.name ?? d.id, createdAt: 0 }));
const origin = Date.UTC(2026, 9, 1, 16);
const end = origin + 12 * DAY;
const live = end + 3 * 3_600_000 + 10_000;
const logger = pino({ level: 'silent' });
const register = (p: Profile | undefined, t: number) => {
  const r = p?.next(t) as unknown as Record<string, unknown>;
  return (r.energy ?? r.volume) as number;
};
/** Keeps the last reading per device: the backfill's own registers at the seam. */
function memoryStore(): TelemetryStore & { last: Map<string, Reading> } {
  const last = new Map<string, Reading>();
  const write = async (batch: readonly Reading[]) => { for (const r of batch) last.set(r.device, r); };
  return { last, write } as unknown as TelemetryStore & { last: Map<string, Reading> };
}

describe('backfill hand-over to the live fleet', () => {
  it('hands over profiles at the last written step that continue like a catch-up from the origin', async () => {
    const store = memoryStore();
    let handed: { profiles: ReadonlyMap<string, Profile>; at: number } | undefined;
    const handOver = (profiles: Parameters<NonNullable<Parameters<typeof runBackfill>[1]['handOver']>>[0], at: number) => { handed = { profiles, at }; };
    await runBackfill({ days: 12, end, stepMs: STEP, seed: 2026, writeFrom: end - 2 * DAY }, { store, devices, logger, handOver });
    expect(handed?.at).toBe(end - STEP);
    expect([...(handed?.profiles.keys() ?? [])].sort()).toEqual(devices.map((d) => d.id).sort());
    if (!handed) return;

    await catchUpProfiles(handed.profiles.values(), handed.at, live);
    const own = createProfiles(devices, { seed: 2026, start: origin });
    await catchUpProfiles(own.values(), origin, live);
    for (const id of ['chundu-pm-pump', 'chundu-b1-pm-lift', 'chundu-b2-pm-light', 'chundu-wm-master', 'chundu-b3-wm-301']) {
      const continued = register(handed.profiles.get(id), live);
      expect(continued, id).toBeCloseTo(register(own.get(id), live), 2);
      // No cliff: the first live register is at or just above the last written one.
      const written = (store.last.get(id)?.fields.energy ?? store.last.get(id)?.fields.volume) as number;
      expect(continued - written, id).toBeGreaterThanOrEqual(0);
      expect(continued - written, id).toBeLessThan(id.includes('-wm-') ? 5 : 50);
    }
  });

  it('hands nothing over when stopped', async () => {
    const abort = new AbortController();
    abort.abort(new Error('stopping'));
    let handed = false;
    await expect(runBackfill({ days: 3, end, stepMs: STEP, seed: 2026 }, { store: memoryStore(), devices, logger, signal: abort.signal, handOver: () => { handed = true; } })).rejects.toThrow('stopping');
    expect(handed).toBe(false);
  });
});
