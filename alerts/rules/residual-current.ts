import { z } from 'zod';
import type { Rule } from '../contracts.js';
import { enabled, held, nonNegative, num, positive, type HoldState } from './common.js';
import { dutyWithin, emptyDuty, maxSampleMs, type DutyState } from './windows.js';

/**
 * Residual (earth-leakage) current: ≥ 300 mA held 10 s, or intermittently for 60 s within 10 min
 * → major; ≥ 500 mA → critical at once.
 *
 * GB 50116-2013 §9.2.3: the alarm setting of a residual-current electrical-fire monitoring
 * detector should lie within 300–500 mA — leakage through degraded insulation at that level can
 * ignite (≈ 60 W into a carbonised path at 220 V). The 10 s hold rides through the inrush of
 * motors and capacitive loads; it is measured from the first reading at or over the setting to a
 * later one, so it means the same at 1 s and 1 min reporting. Leakage that comes and goes (a damp
 * junction box: 250, 450, 250, 450 mA…) never holds on two reports in a row, yet conducts half the
 * time: 60 s over the setting within any 10 min, from at least two readings, raises it too (each
 * reading counts until the next, at most two reporting intervals). 500 mA, the top of the
 * §9.2.3 range, needs no confirmation: a monitoring detector itself must signal within 30 s of its
 * setting (GB 14287.2-2014), and a first report that high is already past every setting.
 * Clear below 200 mA once the window no longer holds 60 s over the setting (hysteresis against
 * leakage hovering near 300, and against an intermittent fault flapping the alarm).
 */
const params = z.object({ ...enabled, majorMa: positive, criticalMa: positive, holdS: nonNegative, windowS: positive, withinWindowS: positive,
  clearBelowMa: positive })
  .refine((p) => p.clearBelowMa < p.majorMa && p.majorMa <= p.criticalMa, 'need clearBelowMa < majorMa <= criticalMa')
  .refine((p) => p.withinWindowS <= p.windowS, 'withinWindowS must not exceed windowS');
type Params = z.infer<typeof params>;
interface State extends HoldState { on: boolean; duty?: DutyState }

export const residualCurrentRule: Rule<Params, State> = {
  name: 'residual_current',
  description: 'Residual current above the GB 50116 alarm setting: held, intermittent, or at once above the critical level',
  alarmTypes: ['residual_current'],
  kinds: ['power_meter'],
  params,
  defaults: { enabled: true, majorMa: 300, criticalMa: 500, holdS: 10, windowS: 600, withinWindowS: 60, clearBelowMa: 200 },
  initialState: () => ({ on: false }),
  onReading(ctx, r) {
    const ma = num(r, 'residual_current');
    if (ma === undefined) return;
    const p = ctx.params;
    const s = ctx.state;
    const over = ma >= p.majorMa;
    const sustained = held(s, over, ctx.now, p.holdS * 1000);
    const duty = dutyWithin((s.duty ??= emptyDuty()), over, ctx.now, p.windowS * 1000, maxSampleMs(ctx.device));
    const intermittent = duty.samples >= 2 && duty.onMs >= p.withinWindowS * 1000;
    if (ma >= p.criticalMa || sustained || intermittent) {
      s.on = true;
      ctx.raise({
        type: 'residual_current', severity: ma >= p.criticalMa ? 'critical' : 'major',
        details: { residual_current: ma, threshold: p.majorMa, aboveS: Math.round(duty.onMs / 1000), sinceTs: s.since ?? ctx.now },
      });
    } else if (s.on && ma < p.clearBelowMa && !intermittent) {
      s.on = false;
      ctx.clear({ type: 'residual_current', details: { residual_current: ma } });
    }
  },
};
