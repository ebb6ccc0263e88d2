import { z } from 'zod';
import type { Rule } from '../contracts.js';
import { enabled, HOUR, nonNegative, num, positive } from './common.js';

/**
 * Leak: no continuous hour of zero flow in the last 24 h → major; cleared after an hour of zero flow.
 *
 * This is the logic of Kamstrup's LEAK info code (MULTICAL / flowIQ): a household always has a
 * quiet hour, usually at night; a running cistern or a weeping pipe takes it away. "Zero" means
 * the instantaneous flow is at most `zeroFlowLpm` and the volume register did not advance since
 * the previous reading (samples alone would miss flow between them). A meter is judged only after
 * 24 h of readings.
 * Master meters are left out by default: a compound's supply never rests for an hour (a few flats
 * always draw, and every network seeps), so its losses are judged by `water_balance` instead.
 */
const params = z.object({ ...enabled, includeMaster: z.boolean(), quietH: positive, windowH: positive, zeroFlowLpm: nonNegative, registerStepM3: nonNegative });
type Params = z.infer<typeof params>;
interface State { on: boolean; firstTs?: number; lastVolume?: number; zeroSince?: number; quietHourAt?: number }

export const waterLeakRule: Rule<Params, State> = {
  name: 'water_leak',
  description: 'No continuous quiet hour of zero flow within a day (Kamstrup LEAK logic)',
  alarmTypes: ['water_leak'],
  kinds: ['water_meter'],
  params,
  defaults: { enabled: true, includeMaster: false, quietH: 1, windowH: 24, zeroFlowLpm: 0, registerStepM3: 0.0005 },
  initialState: () => ({ on: false }),
  onReading(ctx, r) {
    const flow = num(r, 'flow');
    const volume = num(r, 'volume');
    if (flow === undefined && volume === undefined) return;
    if (ctx.device.purpose === 'master' && !ctx.params.includeMaster) return;
    const s = ctx.state;
    const p = ctx.params;
    s.firstTs ??= ctx.now;
    const advanced = volume !== undefined && s.lastVolume !== undefined && volume - s.lastVolume > p.registerStepM3;
    if (volume !== undefined) s.lastVolume = volume;
    const zero = (flow === undefined || flow <= p.zeroFlowLpm) && !advanced;
    if (!zero) delete s.zeroSince;
    else {
      s.zeroSince ??= ctx.now;
      if (ctx.now - s.zeroSince >= p.quietH * HOUR) s.quietHourAt = ctx.now;
    }
    if (s.on && s.quietHourAt === ctx.now) {
      s.on = false;
      ctx.clear({ type: 'water_leak', details: { flow, quietSinceTs: s.zeroSince } });
      return;
    }
    const lastQuiet = s.quietHourAt ?? s.firstTs;
    if (ctx.now - lastQuiet >= p.windowH * HOUR) {
      s.on = true;
      ctx.raise({ type: 'water_leak', severity: 'major', details: { flow, volume, lastQuietHourTs: s.quietHourAt ?? null } });
    }
  },
};
