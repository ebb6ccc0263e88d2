import { z } from 'zod';
import type { Rule } from '../contracts.js';
import { enabled, held, num, positive, type HoldState } from './common.js';

/**
 * Burst: flow above a share (default 50 %) of the meter's Q3 for 30 min → critical.
 *
 * Q3 (ISO 4064 / GB/T 778, registry field `q3`, m³/h) is the permanent flow rate the meter is sized
 * for; a household reaches half of it only briefly (a shower plus a washing machine), so half of Q3
 * held for half an hour is water running to waste. Flow is reported in L/min:
 * Q3 [m³/h] × 1000 / 60 = L/min. Clear below 80 % of the trigger flow (hysteresis).
 * Meters without Q3 are not evaluated.
 */
const params = z.object({ ...enabled, q3Share: z.number().positive().max(2), holdMin: positive, clearRatio: z.number().positive().max(1) });
type Params = z.infer<typeof params>;
interface State extends HoldState { on: boolean }

export const waterBurstRule: Rule<Params, State> = {
  name: 'water_burst',
  description: 'Flow above a share of the meter permanent flow rate Q3 for a sustained period',
  alarmTypes: ['water_burst'],
  kinds: ['water_meter'],
  params,
  defaults: { enabled: true, q3Share: 0.5, holdMin: 30, clearRatio: 0.8 },
  initialState: () => ({ on: false }),
  onReading(ctx, r) {
    const q3 = ctx.device.q3;
    const flow = num(r, 'flow');
    if (q3 === undefined || flow === undefined) return;
    const limitLpm = (q3 * 1000 * ctx.params.q3Share) / 60;
    if (held(ctx.state, flow > limitLpm, ctx.now, ctx.params.holdMin * 60_000)) {
      ctx.state.on = true;
      ctx.raise({ type: 'water_burst', severity: 'critical', details: { flow, limitLpm: Math.round(limitLpm * 10) / 10, q3, sinceTs: ctx.state.since } });
    } else if (ctx.state.on && flow < limitLpm * ctx.params.clearRatio) {
      ctx.state.on = false;
      ctx.clear({ type: 'water_burst', details: { flow } });
    }
  },
};
