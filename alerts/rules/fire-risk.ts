import { z } from 'zod';
import type { Rule } from '../contracts.js';
import { enabled, positive } from './common.js';

/**
 * Combined fire risk per building: two or more independent criteria (smoke, heat, CO) asserted
 * within two minutes, across the detectors of one building → one building-level critical alarm
 * naming the detectors.
 *
 * Why: GB 50116-2013 §4.4 makes automatic fire-protection actions depend on two independent alarm
 * signals ("与" logic) so that one nuisance signal cannot trigger them; the same coincidence is
 * what lets a control room treat a building as on fire rather than one detector as noisy.
 * It reads the device rules' decisions (signals), so each criterion keeps its own standard.
 * It clears when every contributing device alarm has cleared.
 */
const params = z.object({ ...enabled, windowS: positive, minCriteria: z.number().int().min(2).max(3) });
type Params = z.infer<typeof params>;

interface Assertion { device: string; criterion: string; ts: number }
interface BuildingState { on: boolean; assertions: Assertion[]; active: string[]; members: string[] }

/** Which fire criterion each device alarm type stands for. */
const criterionOf: Readonly<Record<string, string>> = { smoke: 'smoke', heat: 'heat', heat_rise: 'heat', co: 'co' };

export const fireRiskRule: Rule<Params, Record<string, never>> = {
  name: 'fire_risk',
  description: 'Two or more fire criteria agreeing within a window across the detectors of a building',
  alarmTypes: ['fire_risk'],
  kinds: ['smoke_detector'],
  params,
  defaults: { enabled: true, windowS: 120, minCriteria: 2 },
  initialState: () => ({}),
  onSignal(ctx, sig) {
    const criterion = criterionOf[sig.type];
    if (criterion === undefined) return;
    const { device } = sig;
    const b = ctx.stateOf<BuildingState>(`${device.site}/${device.building}`, () => ({ on: false, assertions: [], active: [], members: [] }));
    const originator = { kind: 'building' as const, id: device.building };
    const activeKey = `${device.id}/${sig.type}`;
    if (sig.action === 'clear') {
      b.active = b.active.filter((k) => k !== activeKey);
      b.assertions = b.assertions.filter((a) => !(a.device === device.id && a.criterion === criterion));
      if (b.on && b.active.length === 0) {
        ctx.clear({ type: 'fire_risk', originator, details: { lastCleared: device.id } });
        Object.assign(b, { on: false, assertions: [], members: [] });
      }
      return;
    }
    if (!b.active.includes(activeKey)) b.active.push(activeKey);
    const horizon = ctx.now - ctx.params.windowS * 1000;
    b.assertions = b.assertions.filter((a) => a.ts >= horizon && !(a.device === device.id && a.criterion === criterion));
    b.assertions.push({ device: device.id, criterion, ts: ctx.now });
    const criteria = [...new Set(b.assertions.map((a) => a.criterion))].sort();
    if (criteria.length < ctx.params.minCriteria) return;
    const members = [...new Set([...b.members, ...b.assertions.map((a) => `${a.device}:${a.criterion}`)])].sort();
    // Repeat only when the picture grows (a new detector or criterion), not on every sample.
    if (b.on && members.length === b.members.length) return;
    b.on = true;
    b.members = members;
    const detectors = [...new Set(members.map((m) => m.split(':')[0] ?? ''))].sort();
    const allCriteria = [...new Set(members.map((m) => m.split(':')[1] ?? ''))].sort();
    ctx.raise({
      type: 'fire_risk', severity: 'critical', originator,
      details: { detectors, criteria: allCriteria, evidence: members },
      text: `fire risk in building ${device.building}: ${allCriteria.join(' + ')} from ${detectors.join(', ')}`,
    });
  },
};
