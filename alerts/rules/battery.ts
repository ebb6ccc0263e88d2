import { z } from 'zod';
import type { Rule } from '../contracts.js';
import { enabled, num, severitySchema } from './common.js';

/**
 * Battery: ≤ 20 % → warning; ≤ 10 % → major for smoke detectors and manual call points (a warning for other kinds).
 *
 * EN 14604 requires a smoke alarm to warn of a low battery while it can still alarm for at least
 * 30 days; 20 % gives maintenance that month to plan, 10 % says the month is running out — for a
 * fire detector that is a safety issue, for a bin or meter an errand. Clear at ≥ 25 % (a new
 * battery; cells read a few % higher when warm, so the hysteresis keeps a tired one from flapping).
 */
const pct = z.number().min(0).max(100);
const params = z.object({ ...enabled, lowAt: pct, veryLowAt: pct, veryLowSeverity: severitySchema, clearAt: pct })
  .refine((p) => p.veryLowAt < p.lowAt && p.lowAt < p.clearAt, 'need veryLowAt < lowAt < clearAt');
type Params = z.infer<typeof params>;
interface State { on: boolean }

export const batteryRule: Rule<Params, State> = {
  name: 'battery',
  description: 'Low battery',
  alarmTypes: ['battery'],
  kinds: ['smoke_detector', 'manual_call_point', 'smart_bin', 'water_meter'],
  params,
  defaults: { enabled: true, lowAt: 20, veryLowAt: 10, veryLowSeverity: 'warning', clearAt: 25 },
  kindDefaults: { smoke_detector: { veryLowSeverity: 'major' }, manual_call_point: { veryLowSeverity: 'major' } },
  initialState: () => ({ on: false }),
  onReading(ctx, r) {
    const b = num(r, 'battery');
    if (b === undefined) return;
    const p = ctx.params;
    if (b <= p.lowAt) {
      ctx.state.on = true;
      ctx.raise({ type: 'battery', severity: b <= p.veryLowAt ? p.veryLowSeverity : 'warning', details: { battery: b } });
    } else if (ctx.state.on && b >= p.clearAt) {
      ctx.state.on = false;
      ctx.clear({ type: 'battery', details: { battery: b } });
    }
  },
};
