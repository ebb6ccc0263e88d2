import { z } from 'zod';
import type { Rule } from '../contracts.js';
import { enabled, held, nonNegative, num, positive, type HoldState } from './common.js';

/**
 * Residual (earth-leakage) current: ≥ 300 mA held 10 s → major; ≥ 500 mA → critical.
 *
 * GB 50116-2013 §9.2.3: the alarm setting of a residual-current electrical-fire monitoring
 * detector should lie within 300–500 mA — leakage through degraded insulation at that level can
 * ignite (≈ 60 W into a carbonised path at 220 V). The 10 s hold rides through the inrush of
 * motors and capacitive loads. Clear below 200 mA (hysteresis against leakage hovering near 300).
 */
const params = z.object({ ...enabled, majorMa: positive, criticalMa: positive, holdS: nonNegative, clearBelowMa: positive })
  .refine((p) => p.clearBelowMa < p.majorMa && p.majorMa <= p.criticalMa, 'need clearBelowMa < majorMa <= criticalMa');
type Params = z.infer<typeof params>;
interface State extends HoldState { on: boolean }

export const residualCurrentRule: Rule<Params, State> = {
  name: 'residual_current',
  description: 'Residual current above the GB 50116 alarm setting, held',
  alarmTypes: ['residual_current'],
  kinds: ['power_meter'],
  params,
  defaults: { enabled: true, majorMa: 300, criticalMa: 500, holdS: 10, clearBelowMa: 200 },
  initialState: () => ({ on: false }),
  onReading(ctx, r) {
    const ma = num(r, 'residual_current');
    if (ma === undefined) return;
    const p = ctx.params;
    if (held(ctx.state, ma >= p.majorMa, ctx.now, p.holdS * 1000)) {
      ctx.state.on = true;
      ctx.raise({ type: 'residual_current', severity: ma >= p.criticalMa ? 'critical' : 'major', details: { residual_current: ma, sinceTs: ctx.state.since } });
    } else if (ctx.state.on && ma < p.clearBelowMa) {
      ctx.state.on = false;
      ctx.clear({ type: 'residual_current', details: { residual_current: ma } });
    }
  },
};
