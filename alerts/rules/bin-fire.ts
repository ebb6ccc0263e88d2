import { z } from 'zod';
import type { Rule } from '../contracts.js';
import { enabled, MINUTE, num, positive } from './common.js';

/**
 * Bin fire: temperature inside the bin ≥ 60 °C, or rising ≥ 8 °C/min between readings → critical.
 *
 * No standard sets these; they follow from physics: shaded outdoor air in China stays under
 * ~45 °C and a kitchen-waste bin's fermentation adds a few degrees, while aerobic self-heating of
 * organic waste past ~60 °C is where smouldering begins; a hot ash or battery fire shows as a
 * fast rise long before it reaches that. Clear below 45 °C with the rise over (≤ 1 °C/min).
 */
const params = z.object({ ...enabled, threshold: z.number().min(30).max(200), ratePerMin: positive, clearBelow: z.number(), clearRatePerMin: z.number() });
type Params = z.infer<typeof params>;
interface State { on: boolean; lastTs?: number; lastTemp?: number }

export const binFireRule: Rule<Params, State> = {
  name: 'bin_fire',
  description: 'Bin temperature or its rate of rise indicating a fire',
  alarmTypes: ['bin_fire'],
  kinds: ['smart_bin'],
  params,
  defaults: { enabled: true, threshold: 60, ratePerMin: 8, clearBelow: 45, clearRatePerMin: 1 },
  initialState: () => ({ on: false }),
  onReading(ctx, r) {
    const t = num(r, 'temperature');
    if (t === undefined) return;
    const s = ctx.state;
    const rate = s.lastTs !== undefined && s.lastTemp !== undefined && ctx.now > s.lastTs ? ((t - s.lastTemp) / (ctx.now - s.lastTs)) * MINUTE : undefined;
    if (s.lastTs === undefined || ctx.now > s.lastTs) Object.assign(s, { lastTs: ctx.now, lastTemp: t });
    const p = ctx.params;
    if (t >= p.threshold || (rate !== undefined && rate >= p.ratePerMin)) {
      s.on = true;
      ctx.raise({ type: 'bin_fire', severity: 'critical', details: { temperature: t, ratePerMin: rate === undefined ? null : Math.round(rate * 10) / 10 } });
    } else if (s.on && t < p.clearBelow && (rate === undefined || rate <= p.clearRatePerMin)) {
      s.on = false;
      ctx.clear({ type: 'bin_fire', details: { temperature: t } });
    }
  },
};
