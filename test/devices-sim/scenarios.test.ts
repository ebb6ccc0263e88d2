import { describe, expect, it } from 'vitest';
import { kinds, type Device } from '../../core/index.js';
import { createSmokeDetectorProfile, deviceRng, parseScenario } from '../../devices-sim/index.js';

const detector: Device = { id: 'sd-1', kind: 'smoke_detector', site: 's', building: 'b3', name: 'kitchen', createdAt: 0 };
const t0 = Date.UTC(2026, 10, 25, 10);

describe('scenarios', () => {
  it('parses kind:target@+offset and names what it knows when it cannot', () => {
    expect(parseScenario('fire:b3@+2m', t0)).toMatchObject({ name: 'fire:b3', startAt: t0 + 120_000 });
    expect(parseScenario('fire:sd-1', t0).startAt).toBe(t0);
    expect(() => parseScenario('flood:b3', t0)).toThrow(/known: fire/);
    expect(() => parseScenario('fire b3', t0)).toThrow(/kind:target@\+offset/);
  });

  it('a kitchen fire drives smoke, heat and CO up with valid payloads, only on its target', () => {
    const fire = parseScenario('fire:b3', t0);
    const profile = createSmokeDetectorProfile(detector, deviceRng(1, detector.id), t0);
    const series = [0, 30, 60, 120, 300].map((s) => fire.apply(profile.next(t0 + s * 1000), s * 1000, detector));
    for (const p of series) expect(kinds.smoke_detector.payload.safeParse(p).success).toBe(true);
    expect(series[0]?.alarm).toBe(false);
    expect(series[3]?.alarm).toBe(true);
    expect(series[3]!.smoke as number).toBeGreaterThan(1);
    // 18 °C/min: above EN 54-5's 8.3 °C/min rate of rise.
    expect((series[2]!.temperature as number) - (series[0]!.temperature as number)).toBeGreaterThan(15);
    expect(fire.appliesTo({ ...detector, building: 'b1' })).toBe(false);
    expect(fire.appliesTo({ ...detector, id: 'bin', kind: 'smart_bin' })).toBe(false);
  });
});
