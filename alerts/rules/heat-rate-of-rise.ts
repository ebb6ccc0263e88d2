import { z } from 'zod';
import type { Rule } from '../contracts.js';
import { enabled, num, positive } from './common.js';
import { emptySlope, slopeOver, type SlopeState } from './windows.js';

/**
 * Heat, rate of rise: the temperature's least-squares slope over the last `windowS` (60 s) at or
 * above 8.3 °C/min → critical.
 *
 * EN 54-5 class R (the rate-of-rise suffix, e.g. A1R) requires a detector to respond to rates of
 * rise from 10 K/min starting below its typical application temperature — at 10 K/min within the
 * class A1 limits of 1 min to 4 min 20 s — and 8.3 °C/min is the 15 °F/min setting of UL 521 /
 * NFPA 72 rate-of-rise detectors. The slope is fitted over a window rather than taken between two
 * samples: a 1 °C-resolution sensor sampled every 5 s reads a 10 °C/min ramp as steps of 0 or +1,
 * and a rate that reset on every flat step would never see the fire (only the fixed 57 °C alarm,
 * minutes later). The fit must span at least `minSpanS` (45 s) of samples, which also rejects the
 * few-second flare of a pan under the detector; a device reporting less often than the window is
 * judged on the rise between its last two reports. Clear once the fitted rise has stopped
 * (≤ 1 °C/min) and the temperature is below 50 °C (EN 54-5 A1 maximum application temperature);
 * a hot, stable room stays covered by `heat`.
 */
const params = z.object({ ...enabled, ratePerMin: positive, windowS: positive, minSpanS: positive, clearRatePerMin: z.number(), clearBelow: z.number() })
  .refine((p) => p.minSpanS <= p.windowS, 'minSpanS must not exceed windowS');
type Params = z.infer<typeof params>;
interface State { on: boolean; fit?: SlopeState }

export const heatRateOfRiseRule: Rule<Params, State> = {
  name: 'heat_rise',
  description: 'Temperature rising faster than the rate-of-rise setting, slope fitted over a window',
  alarmTypes: ['heat_rise'],
  kinds: ['smoke_detector'],
  params,
  defaults: { enabled: true, ratePerMin: 8.3, windowS: 60, minSpanS: 45, clearRatePerMin: 1, clearBelow: 50 },
  initialState: () => ({ on: false }),
  onReading(ctx, r) {
    const t = num(r, 'temperature');
    if (t === undefined) return;
    const s = ctx.state;
    const p = ctx.params;
    s.fit ??= emptySlope();
    const slope = slopeOver(s.fit, ctx.now, t, p.windowS * 1000, p.minSpanS * 1000);
    if (!slope) return;
    const rate = Math.round(slope.perMin * 10) / 10;
    if (slope.perMin >= p.ratePerMin) {
      s.on = true;
      ctx.raise({ type: 'heat_rise', severity: 'critical', details: { temperature: t, ratePerMin: rate, sinceTs: ctx.now - slope.spanMs } });
    } else if (s.on && slope.perMin <= p.clearRatePerMin && t < p.clearBelow) {
      s.on = false;
      ctx.clear({ type: 'heat_rise', details: { temperature: t, ratePerMin: rate } });
    }
  },
};
