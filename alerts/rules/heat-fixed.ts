import { z } from 'zod';
import type { Rule } from '../contracts.js';
import { enabled, num } from './common.js';

/**
 * Heat, fixed temperature: ≥ 57 °C → critical.
 *
 * EN 54-5 class A1 heat detectors must respond between 54 and 65 °C (static response temperature);
 * 57 °C is the class's typical static response temperature. Clear below 50 °C, the class's
 * maximum application temperature, so a cooling room does not flap the alarm.
 */
const params = z.object({ ...enabled, threshold: z.number().min(30).max(150), clearBelow: z.number().min(0).max(150) })
  .refine((p) => p.clearBelow < p.threshold, 'clearBelow must be below threshold');
type Params = z.infer<typeof params>;
interface State { on: boolean }

export const heatFixedRule: Rule<Params, State> = {
  name: 'heat',
  description: 'Temperature at or above the EN 54-5 A1 static response temperature',
  alarmTypes: ['heat'],
  kinds: ['smoke_detector'],
  params,
  defaults: { enabled: true, threshold: 57, clearBelow: 50 },
  initialState: () => ({ on: false }),
  onReading(ctx, r) {
    const t = num(r, 'temperature');
    if (t === undefined) return;
    if (t >= ctx.params.threshold) {
      ctx.state.on = true;
      ctx.raise({ type: 'heat', severity: 'critical', details: { temperature: t, threshold: ctx.params.threshold } });
    } else if (ctx.state.on && t < ctx.params.clearBelow) {
      ctx.state.on = false;
      ctx.clear({ type: 'heat', details: { temperature: t } });
    }
  },
};
