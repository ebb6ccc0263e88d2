import { z } from 'zod';
import type { Rule } from '../contracts.js';
import { enabled, held, num, positive, type HoldState } from './common.js';

/**
 * Burst: flow above 20 % of the meter's Q3 for 30 min → major; above 50 % of Q3 for 30 min → critical.
 *
 * Kamstrup's BURST info code (flowIQ / MULTICAL 21) fires when the flow stays above a share of Q3
 * for 30 minutes continuously, the share chosen from 5, 10 or 20 %; 20 % is the least sensitive,
 * the one that does not take a long shower for a burst (Q3 = 2.5 m³/h → 8.3 L/min). Half of Q3 for
 * half an hour is water running to waste at half the rate the meter (and its pipe) was sized for:
 * critical. Q3 is the permanent flow rate of ISO 4064 / GB/T 778 (registry `q3`, m³/h);
 * L/min = Q3 × 1000 × share / 60. Meters without Q3 are not evaluated.
 *
 * The flow over an interval is read from the volume register when the interval is long enough for
 * its 1 L steps (≥ 5 min): the register's mean is exact whatever happened between two reports,
 * and a meter reporting every 4 h that drew more than the limit on average is judged at once
 * (the interval itself is longer than the 30 min). Shorter intervals use the meter's instantaneous
 * flow. The 30 min run starts at the beginning of the first interval over the limit.
 * Clear below 80 % of the major limit (hysteresis).
 */
const pct = z.number().positive().max(200);
const params = z.object({ ...enabled, majorPctQ3: pct, criticalPctQ3: pct, holdMin: positive, registerMinS: positive,
  clearRatio: z.number().positive().max(1) })
  .refine((p) => p.majorPctQ3 <= p.criticalPctQ3, 'need majorPctQ3 <= criticalPctQ3');
type Params = z.infer<typeof params>;
interface State { on: boolean; major?: HoldState; critical?: HoldState; last?: { ts: number; volume: number } }

export const waterBurstRule: Rule<Params, State> = {
  name: 'water_burst',
  description: 'Flow above a share of the meter permanent flow rate Q3 for 30 min (Kamstrup BURST)',
  alarmTypes: ['water_burst'],
  kinds: ['water_meter'],
  params,
  defaults: { enabled: true, majorPctQ3: 20, criticalPctQ3: 50, holdMin: 30, registerMinS: 300, clearRatio: 0.8 },
  initialState: () => ({ on: false }),
  onReading(ctx, r) {
    const q3 = ctx.device.q3;
    if (q3 === undefined) return;
    const p = ctx.params;
    const s = ctx.state;
    const volume = num(r, 'volume');
    const flow = num(r, 'flow');
    const prev = s.last;
    let lpm: number | undefined;
    let from = ctx.now;
    if (prev && volume !== undefined && ctx.now > prev.ts && volume >= prev.volume && (ctx.now - prev.ts >= p.registerMinS * 1000 || flow === undefined)) {
      lpm = ((volume - prev.volume) * 1000) / ((ctx.now - prev.ts) / 60_000);
      from = prev.ts;
    } else if (flow !== undefined) {
      lpm = flow;
    }
    if (volume !== undefined && (!prev || ctx.now > prev.ts)) s.last = { ts: ctx.now, volume };
    if (lpm === undefined) return;
    const limit = (share: number) => (q3 * 1000 * share) / 100 / 60;
    const holdMs = p.holdMin * 60_000;
    const critical = held((s.critical ??= {}), lpm > limit(p.criticalPctQ3), ctx.now, holdMs, from);
    const major = held((s.major ??= {}), lpm > limit(p.majorPctQ3), ctx.now, holdMs, from);
    const round1 = (x: number) => Math.round(x * 10) / 10;
    if (major || critical) {
      s.on = true;
      const share = critical ? p.criticalPctQ3 : p.majorPctQ3;
      ctx.raise({
        type: 'water_burst', severity: critical ? 'critical' : 'major',
        details: { meanFlowLpm: round1(lpm), limitLpm: round1(limit(share)), q3Pct: share, q3, sinceTs: (critical ? s.critical.since : s.major.since) ?? from },
      });
    } else if (s.on && lpm < limit(p.majorPctQ3) * p.clearRatio) {
      s.on = false;
      ctx.clear({ type: 'water_burst', details: { meanFlowLpm: round1(lpm) } });
    }
  },
};
