import { z } from 'zod';
import type { Rule } from '../contracts.js';
import { enabled, num } from './common.js';

/**
 * Cable temperature ≥ 70 °C → major.
 *
 * 70 °C is the maximum continuous conductor temperature of PVC-insulated cables
 * (GB/T 5023 / IEC 60227, GB/T 12706 for PVC power cables); above it the insulation ages fast and
 * softens. Clear below 65 °C (hysteresis: a loaded cable hovers around its limit).
 */
const params = z.object({ ...enabled, threshold: z.number().min(30).max(250), clearBelow: z.number().min(0).max(250) })
  .refine((p) => p.clearBelow < p.threshold, 'clearBelow must be below threshold');
type Params = z.infer<typeof params>;
interface State { on: boolean }

export const cableTemperatureRule: Rule<Params, State> = {
  name: 'cable_temperature',
  description: 'Cable or terminal temperature above the PVC insulation limit',
  alarmTypes: ['cable_temperature'],
  kinds: ['power_meter'],
  params,
  defaults: { enabled: true, threshold: 70, clearBelow: 65 },
  initialState: () => ({ on: false }),
  onReading(ctx, r) {
    const t = num(r, 'cable_temperature');
    if (t === undefined) return;
    if (t >= ctx.params.threshold) {
      ctx.state.on = true;
      ctx.raise({ type: 'cable_temperature', severity: 'major', details: { cable_temperature: t, threshold: ctx.params.threshold } });
    } else if (ctx.state.on && t < ctx.params.clearBelow) {
      ctx.state.on = false;
      ctx.clear({ type: 'cable_temperature', details: { cable_temperature: t } });
    }
  },
};
