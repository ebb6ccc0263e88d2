import { z } from 'zod';
import type { Rule } from '../contracts.js';
import { enabled, flag, held, nonNegative, num, positive, type HoldState } from './common.js';

/**
 * Smoke → critical: the detector's own alarm decision at once, or obscuration from an analog
 * reading confirmed over a short verification.
 *
 * GB 4715-2005 (and EN 54-7) test a point smoke detector's response threshold `m` in dB/m; point
 * photoelectric detectors on the Chinese market declare thresholds of roughly 0.1–0.25 dB/m. The
 * default 0.2 dB/m sits inside that range, above the haze of everyday cooking (a kitchen detector
 * reads ~0.05–0.12 dB/m over a hob). Clear below half of it (hysteresis: a smoky room clearing
 * slowly must not flap the alarm).
 *
 * An analog value is a sample; one 0.22 dB/m puff from a wok is not a fire. Like a control unit's
 * alarm verification (NFPA 72 (2019) §3.3.14: the detector must report the alarm condition for a
 * minimum time; §23.8.5.4.1 caps the delay verification may add at 60 s), the reading must stay at
 * or above the threshold for `verifyS` (30 s): held from the first reading over it to a later one,
 * so a detector reporting every 5 s confirms after 30 s and one reporting every 5 min on its next
 * report. Not verified: the device's own `alarm: true` (it has done its own verification, and most
 * NB-IoT / Zigbee detectors report nothing else), and a reading at or above `immediateAt`
 * (1 dB/m, five times the threshold: no cooking haze reaches it, a flaming fire passes it in a minute).
 *
 * `test: true` (test button) is logged and never notified: the reading is not evaluated here.
 */
const params = z.object({ ...enabled, threshold: positive.max(20), clearBelow: positive.max(20), verifyS: nonNegative.max(60), immediateAt: positive.max(20) })
  .refine((p) => p.clearBelow < p.threshold && p.threshold <= p.immediateAt, 'need clearBelow < threshold <= immediateAt');
type Params = z.infer<typeof params>;
interface State { on: boolean; lastTestTs?: number; over?: HoldState }

export const smokeRule: Rule<Params, State> = {
  name: 'smoke',
  description: "Smoke detector's own alarm, or obscuration above the response threshold confirmed by a short verification",
  alarmTypes: ['smoke'],
  kinds: ['smoke_detector'],
  params,
  defaults: { enabled: true, threshold: 0.2, clearBelow: 0.1, verifyS: 30, immediateAt: 1 },
  initialState: () => ({ on: false }),
  onReading(ctx, r) {
    const s = ctx.state;
    if (flag(r, 'test') === true) {
      s.lastTestTs = ctx.now;
      ctx.log.info({ device: r.device, ts: r.ts, smoke: num(r, 'smoke') }, 'smoke detector self-test: logged, not notified');
      return;
    }
    const smoke = num(r, 'smoke');
    const own = flag(r, 'alarm') === true;
    const p = ctx.params;
    s.over ??= {};
    const verified = smoke !== undefined && held(s.over, smoke >= p.threshold, ctx.now, p.verifyS * 1000);
    if (own || verified || (smoke !== undefined && smoke >= p.immediateAt)) {
      s.on = true;
      ctx.raise({ type: 'smoke', severity: 'critical', details: { smoke, deviceAlarm: own, threshold: p.threshold } });
    } else if (s.on && (smoke === undefined || smoke < p.clearBelow)) {
      s.on = false;
      ctx.clear({ type: 'smoke', details: { smoke } });
    }
  },
};
