import { z } from 'zod';
import type { Rule } from '../contracts.js';
import { enabled, flag, num, positive } from './common.js';

/**
 * Smoke: the detector's own alarm decision, or obscuration at or above a threshold → critical.
 *
 * GB 4715-2005 (and EN 54-7) test a point smoke detector's response threshold `m` in dB/m; point
 * photoelectric detectors on the Chinese market declare thresholds of roughly 0.1–0.25 dB/m. The
 * default 0.2 dB/m sits inside that range, above the haze of everyday cooking (a kitchen detector
 * reads ~0.05–0.12 dB/m over a hob), so the platform confirms a fire without nuisance alarms.
 * Clear below half of it (hysteresis: a smoky room clearing slowly must not flap the alarm).
 *
 * `test: true` (test button) is logged and never notified: the reading is not evaluated here.
 */
const params = z.object({ ...enabled, threshold: positive.max(20), clearBelow: positive.max(20) }).refine((p) => p.clearBelow < p.threshold, 'clearBelow must be below threshold');
type Params = z.infer<typeof params>;
interface State { on: boolean; lastTestTs?: number }

export const smokeRule: Rule<Params, State> = {
  name: 'smoke',
  description: 'Smoke detector alarm flag or obscuration above the response threshold',
  alarmTypes: ['smoke'],
  kinds: ['smoke_detector'],
  params,
  defaults: { enabled: true, threshold: 0.2, clearBelow: 0.1 },
  initialState: () => ({ on: false }),
  onReading(ctx, r) {
    if (flag(r, 'test') === true) {
      ctx.state.lastTestTs = ctx.now;
      ctx.log.info({ device: r.device, ts: r.ts, smoke: num(r, 'smoke') }, 'smoke detector self-test: logged, not notified');
      return;
    }
    const smoke = num(r, 'smoke');
    const own = flag(r, 'alarm') === true;
    const { threshold, clearBelow } = ctx.params;
    if (own || (smoke !== undefined && smoke >= threshold)) {
      ctx.state.on = true;
      ctx.raise({ type: 'smoke', severity: 'critical', details: { smoke, deviceAlarm: own, threshold } });
    } else if (ctx.state.on && (smoke === undefined || smoke < clearBelow)) {
      ctx.state.on = false;
      ctx.clear({ type: 'smoke', details: { smoke } });
    }
  },
};
