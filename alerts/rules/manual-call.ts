import { z } from 'zod';
import type { Rule } from '../contracts.js';
import { enabled, flag } from './common.js';

/**
 * Manual call point pressed → critical, at once: a person saw a fire (GB 19880-2005 / EN 54-11).
 * It needs no verification and it confirms the fire on its own (`fire_risk`: a call point is an
 * alarm signal independent of every detector, GB 50116-2013 §4.1.6). Clears when the device
 * reports it reset (`alarm: false`: the element was reset with its key). `test: true` is logged,
 * never notified.
 */
const params = z.object({ ...enabled });
type Params = z.infer<typeof params>;
interface State { on: boolean; lastTestTs?: number }

export const manualCallRule: Rule<Params, State> = {
  name: 'manual_call',
  description: 'Manual call point pressed',
  alarmTypes: ['manual_call'],
  kinds: ['manual_call_point'],
  params,
  defaults: { enabled: true },
  initialState: () => ({ on: false }),
  onReading(ctx, r) {
    const s = ctx.state;
    if (flag(r, 'test') === true) {
      s.lastTestTs = ctx.now;
      ctx.log.info({ device: r.device, ts: r.ts }, 'manual call point test: logged, not notified');
      return;
    }
    const pressed = flag(r, 'alarm');
    if (pressed === true) {
      s.on = true;
      ctx.raise({ type: 'manual_call', severity: 'critical', details: { pressed: true } });
    } else if (pressed === false && s.on) {
      s.on = false;
      ctx.clear({ type: 'manual_call', details: { pressed: false } });
    }
  },
};
