import { z } from 'zod';
import type { Rule } from '../contracts.js';
import { enabled, held, num, positive, type HoldState } from './common.js';

/**
 * Overcurrent: current above the circuit's rated current (registry `rated_current`) for 5 min → major.
 *
 * GB/T 10963.1 (IEC 60898-1) breakers need not trip below 1.13 In within an hour and must trip at
 * 1.45 In within an hour, so a circuit can run overloaded for a long time while its cable heats
 * (conductor temperature rises with I²). Five minutes above In is sustained overload, not a
 * starting current, and lets staff shed load before the breaker or the insulation gives.
 * Clear below 90 % of In (hysteresis). Devices without a rated current are not evaluated.
 */
const params = z.object({ ...enabled, holdS: positive, clearRatio: z.number().positive().max(1) });
type Params = z.infer<typeof params>;
interface State extends HoldState { on: boolean }

export const overcurrentRule: Rule<Params, State> = {
  name: 'overcurrent',
  description: 'Current above the rated current of the circuit for a sustained period',
  alarmTypes: ['overcurrent'],
  kinds: ['power_meter'],
  params,
  defaults: { enabled: true, holdS: 300, clearRatio: 0.9 },
  initialState: () => ({ on: false }),
  onReading(ctx, r) {
    const rated = ctx.device.rated_current;
    const a = num(r, 'current');
    if (rated === undefined || a === undefined) return;
    if (held(ctx.state, a > rated, ctx.now, ctx.params.holdS * 1000)) {
      ctx.state.on = true;
      ctx.raise({ type: 'overcurrent', severity: 'major', details: { current: a, rated_current: rated, sinceTs: ctx.state.since } });
    } else if (ctx.state.on && a < rated * ctx.params.clearRatio) {
      ctx.state.on = false;
      ctx.clear({ type: 'overcurrent', details: { current: a, rated_current: rated } });
    }
  },
};
