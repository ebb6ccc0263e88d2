import { z } from 'zod';
import type { Rule } from '../contracts.js';
import { enabled, MINUTE, num, positive } from './common.js';

/**
 * Heat, rate of rise: ≥ 8.3 °C/min sustained over at least 60 s → critical.
 *
 * 8.3 °C/min is the 15 °F/min rate-of-rise setting of UL 521 / NFPA 72 rate-of-rise detectors;
 * requiring it over 60 s (every sample pair in the run) rejects the brief spike of a pan flaring
 * under the detector. Clear once the temperature has stopped rising (≤ 1 °C/min) and is below
 * 50 °C (EN 54-5 A1 maximum application temperature); a hot, stable room stays covered by `heat`.
 */
const params = z.object({ ...enabled, ratePerMin: positive, sustainS: positive, clearRatePerMin: z.number(), clearBelow: z.number() });
type Params = z.infer<typeof params>;
interface State { on: boolean; lastTs?: number; lastTemp?: number; runStart?: number }

export const heatRateOfRiseRule: Rule<Params, State> = {
  name: 'heat_rise',
  description: 'Temperature rising faster than the rate-of-rise setting for a sustained period',
  alarmTypes: ['heat_rise'],
  kinds: ['smoke_detector'],
  params,
  defaults: { enabled: true, ratePerMin: 8.3, sustainS: 60, clearRatePerMin: 1, clearBelow: 50 },
  initialState: () => ({ on: false }),
  onReading(ctx, r) {
    const t = num(r, 'temperature');
    if (t === undefined) return;
    const s = ctx.state;
    const prevTs = s.lastTs;
    const prevTemp = s.lastTemp;
    if (prevTs === undefined || prevTemp === undefined || ctx.now <= prevTs) {
      // First sample, or a repeat of the same instant: no rate to compute; keep the first value.
      if (prevTs === undefined || ctx.now > prevTs) Object.assign(s, { lastTs: ctx.now, lastTemp: t });
      return;
    }
    const rate = ((t - prevTemp) / (ctx.now - prevTs)) * MINUTE;
    s.lastTs = ctx.now;
    s.lastTemp = t;
    const { ratePerMin, sustainS, clearRatePerMin, clearBelow } = ctx.params;
    if (rate >= ratePerMin) {
      // The run starts at the beginning of its first rising interval.
      s.runStart ??= prevTs;
      if (ctx.now - s.runStart >= sustainS * 1000) {
        s.on = true;
        ctx.raise({ type: 'heat_rise', severity: 'critical', details: { temperature: t, ratePerMin: Math.round(rate * 10) / 10, sinceTs: s.runStart } });
      }
      return;
    }
    delete s.runStart;
    if (s.on && rate <= clearRatePerMin && t < clearBelow) {
      s.on = false;
      ctx.clear({ type: 'heat_rise', details: { temperature: t, ratePerMin: Math.round(rate * 10) / 10 } });
    }
  },
};
