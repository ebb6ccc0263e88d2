import { describe, expect, it } from 'vitest';
import { interlock, meterPurposes, powerContinuityPurposes } from '../../core/index.js';

describe('safety interlocks', () => {
  it('never opens the breaker of an elevator, fire pump, smoke extraction or emergency lighting circuit automatically', () => {
    for (const purpose of ['elevator', 'fire_pump', 'smoke_extraction', 'emergency_lighting'] as const) {
      const refusal = interlock({ kind: 'power_meter', purpose }, 'open', 'automatic');
      expect(refusal, purpose).toMatchObject({ code: 'interlock_power_continuity' });
      expect(refusal?.standard).toMatch(/GB 50016-2014/);
      // A person may still decide.
      expect(interlock({ kind: 'power_meter', purpose }, 'open', 'manual')).toBeUndefined();
      // Closing (restoring power) is never held back.
      expect(interlock({ kind: 'power_meter', purpose }, 'close', 'automatic')).toBeUndefined();
    }
    expect(powerContinuityPurposes).toHaveLength(4);
  });

  it('lets the other circuits, and valves, act automatically', () => {
    for (const purpose of meterPurposes.filter((p) => !powerContinuityPurposes.includes(p))) {
      expect(interlock({ kind: 'power_meter', purpose }, 'open', 'automatic'), purpose).toBeUndefined();
    }
    expect(interlock({ kind: 'power_meter' }, 'open', 'automatic')).toBeUndefined();
    expect(interlock({ kind: 'water_meter', purpose: 'household' }, 'close', 'automatic')).toBeUndefined();
  });
});
