import { describe, expect, it } from 'vitest';
import {
  defaultResponsePolicy, meterPurposes, powerContinuityPurposes, proposalsFor, responsePolicySchema, type ResponseDevice, type ResponsePolicy,
} from '../../core/index.js';

/** Response policies (core/responses.ts): what an alarm proposes, when it may act by itself, and the interlocks that stop it. */

const burst = { id: 'a1', type: 'water_burst', severity: 'critical' as const };
const leak = (severity: 'major' | 'critical') => ({ id: 'a2', type: 'residual_current', severity });
const householdMeter: ResponseDevice = { id: 'wm-301', kind: 'water_meter', purpose: 'household', capabilities: ['valve'] };
const breaker = (purpose: ResponseDevice['purpose']): ResponseDevice => ({ id: `pm-${purpose ?? 'none'}`, kind: 'power_meter', ...(purpose ? { purpose } : {}), capabilities: ['switch'] });

const auto = (allowAuto: boolean): ResponsePolicy => responsePolicySchema.parse({
  allowAuto,
  rules: [
    { alarm: 'water_burst', purposes: ['household'], command: 'close', mode: 'auto_after', autoAfterMinutes: 10 },
    { alarm: 'residual_current', minSeverity: 'critical', command: 'open', mode: 'auto_after', autoAfterMinutes: 5 },
  ],
});

describe('response policies', () => {
  it('by default a burst on a household meter proposes closing its valve, and critical residual current opening the breaker — both waiting for a person', () => {
    expect(proposalsFor(defaultResponsePolicy, burst, householdMeter)).toEqual([
      { alarmId: 'a1', alarmType: 'water_burst', device: 'wm-301', command: 'close', mode: 'propose' },
    ]);
    expect(proposalsFor(defaultResponsePolicy, leak('critical'), breaker('common_lighting'))).toEqual([
      { alarmId: 'a2', alarmType: 'residual_current', device: 'pm-common_lighting', command: 'open', mode: 'propose' },
    ]);
    // Below the critical level, on a riser meter, or on a meter without a valve: nothing is proposed.
    expect(proposalsFor(defaultResponsePolicy, leak('major'), breaker('common_lighting'))).toEqual([]);
    expect(proposalsFor(defaultResponsePolicy, burst, { ...householdMeter, purpose: 'master' })).toEqual([]);
    expect(proposalsFor(defaultResponsePolicy, burst, { ...householdMeter, capabilities: [] })).toEqual([]);
    expect(proposalsFor(defaultResponsePolicy, { ...burst, type: 'water_leak' }, householdMeter)).toEqual([]);
  });

  it('auto_after acts by itself only where the site allows it', () => {
    expect(proposalsFor(auto(true), burst, householdMeter)).toEqual([
      { alarmId: 'a1', alarmType: 'water_burst', device: 'wm-301', command: 'close', mode: 'auto_after', autoAfterMs: 600_000 },
    ]);
    expect(proposalsFor(auto(false), burst, householdMeter)).toEqual([
      { alarmId: 'a1', alarmType: 'water_burst', device: 'wm-301', command: 'close', mode: 'propose' },
    ]);
  });

  it('never automatic for a circuit feeding an elevator, fire pump, smoke extraction or emergency lighting: proposed, flagged with the interlock and its standard', () => {
    expect([...powerContinuityPurposes].sort()).toEqual(['elevator', 'emergency_lighting', 'fire_pump', 'smoke_extraction']);
    for (const purpose of powerContinuityPurposes) {
      const [draft, ...rest] = proposalsFor(auto(true), leak('critical'), breaker(purpose));
      expect(rest, purpose).toEqual([]);
      expect(draft, purpose).toMatchObject({ command: 'open', mode: 'propose', interlock: { code: 'interlock_power_continuity' } });
      expect(draft!.autoAfterMs, purpose).toBeUndefined();
      expect(draft!.interlock!.standard, purpose).toMatch(purpose === 'elevator' ? /GB 50016-2014 §7\.3/ : /GB 50016-2014 §10\.1\.6; GB 51348-2019/);
    }
    // Every other circuit may act by itself where allowed.
    for (const purpose of meterPurposes.filter((p) => !powerContinuityPurposes.includes(p))) {
      expect(proposalsFor(auto(true), leak('critical'), breaker(purpose))[0], purpose).toMatchObject({ mode: 'auto_after', autoAfterMs: 300_000 });
      expect(proposalsFor(auto(true), leak('critical'), breaker(purpose))[0]?.interlock, purpose).toBeUndefined();
    }
  });

  it('refuses a policy that cannot be carried out, naming the path', () => {
    const bad = (input: unknown) => {
      const r = responsePolicySchema.safeParse(input);
      expect(r.success).toBe(false);
      return r.error!.issues.map((i) => `${i.path.join('.')}: ${i.message}`);
    };
    expect(bad({ rules: [{ alarm: 'water_burst', command: 'close', mode: 'auto_after' }] })).toEqual(['rules.0.autoAfterMinutes: mode auto_after needs autoAfterMinutes']);
    expect(bad({ rules: [{ alarm: 'flood', command: 'close' }] })[0]).toMatch(/^rules\.0\.alarm:/);
    expect(bad({ rules: [{ alarm: 'water_burst', command: 'explode' }] })[0]).toMatch(/^rules\.0\.command:/);
    expect(bad({ rules: [{ alarm: 'water_burst', command: 'close', mode: 'auto_after', autoAfterMinutes: 0 }] })[0]).toMatch(/^rules\.0\.autoAfterMinutes:/);
    expect(bad({ allowAuto: true, rules: [], extra: 1 })[0]).toMatch(/extra/);
    expect(responsePolicySchema.parse({})).toEqual({ allowAuto: false, rules: [] });
  });
});
