import { z } from 'zod';
import type { Rule } from '../contracts.js';
import { enabled, num, positive } from './common.js';
import { emptySlope, slopeOver, type SlopeState } from './windows.js';

/**
 * Bin fire → critical: the temperature inside the bin ≥ 60 °C (a first report that hot counts), or
 * above a plausible floor of 40 °C and rising ≥ 8 °C/min over the last minute (slope fitted).
 *
 * No standard sets these; they follow from physics: shaded outdoor air in China stays under
 * ~42 °C and a kitchen-waste bin's fermentation adds a few degrees, while aerobic self-heating of
 * organic waste past ~60 °C is where smouldering begins; a hot ash or battery fire shows as a
 * fast rise before it gets there. A rate alone is not enough: a thermistor's noise between two
 * readings 10 s apart (11.8 → 13.2 °C) is "8.4 °C/min", so the rise must be fitted over a window
 * of at least 45 s of readings (a bin reporting every 10 min is judged on its last interval) and
 * happen above the floor no weather reaches. Clear below 45 °C with the rise over (≤ 1 °C/min).
 */
const params = z.object({ ...enabled, threshold: z.number().min(30).max(200), ratePerMin: positive, floor: z.number().min(0).max(200), windowS: positive,
  minSpanS: positive, clearBelow: z.number(), clearRatePerMin: z.number() })
  .refine((p) => p.floor < p.threshold && p.minSpanS <= p.windowS, 'need floor < threshold and minSpanS <= windowS');
type Params = z.infer<typeof params>;
interface State { on: boolean; fit?: SlopeState }

export const binFireRule: Rule<Params, State> = {
  name: 'bin_fire',
  description: 'Bin temperature at a smouldering level, or rising fast above a plausible floor',
  alarmTypes: ['bin_fire'],
  kinds: ['smart_bin'],
  params,
  defaults: { enabled: true, threshold: 60, ratePerMin: 8, floor: 40, windowS: 60, minSpanS: 45, clearBelow: 45, clearRatePerMin: 1 },
  initialState: () => ({ on: false }),
  onReading(ctx, r) {
    const t = num(r, 'temperature');
    if (t === undefined) return;
    const s = ctx.state;
    const p = ctx.params;
    const slope = slopeOver((s.fit ??= emptySlope()), ctx.now, t, p.windowS * 1000, p.minSpanS * 1000);
    const rate = slope === undefined ? undefined : Math.round(slope.perMin * 10) / 10;
    if (t >= p.threshold || (t >= p.floor && slope !== undefined && slope.perMin >= p.ratePerMin)) {
      s.on = true;
      ctx.raise({ type: 'bin_fire', severity: 'critical', details: { temperature: t, ratePerMin: rate ?? null, threshold: p.threshold } });
    } else if (s.on && t < p.clearBelow && (slope === undefined || slope.perMin <= p.clearRatePerMin)) {
      s.on = false;
      ctx.clear({ type: 'bin_fire', details: { temperature: t, ratePerMin: rate ?? null } });
    }
  },
};
