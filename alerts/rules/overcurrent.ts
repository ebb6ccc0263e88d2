import { z } from 'zod';
import type { Rule } from '../contracts.js';
import { enabled, held, num, positive, type HoldState } from './common.js';
import { emptyMeanSquare, maxSampleMs, rmsWithin, type MeanSquareState } from './windows.js';

/**
 * Overcurrent: current above the circuit's rated current (registry `rated_current`) for 5 min, or
 * an RMS current over the last 30 min above it → major.
 *
 * GB/T 10963.1 (IEC 60898-1) breakers need not trip below 1.13 In within an hour and must trip at
 * 1.45 In within an hour, so a circuit can run overloaded for a long time while its cable heats
 * (conductor temperature rises with I²). Five minutes above In is sustained overload, not a
 * starting current; the hold runs from the first reading over In to a later one, so it means the
 * same at 5 s and 5 min reporting. A load that cycles (a heater on its thermostat, 24 A / 12 A)
 * never holds five minutes yet heats the cable as its RMS does: an RMS over 30 min (of the order of
 * a small cable's thermal time constant; judged once half the window is covered) above In counts
 * as well — a 50 % duty of 1.1 In does not, as it heats less than In steadily would. Each reading
 * stands until the next, at most two reporting intervals. Clear below 90 % of In once the RMS is
 * back under In. Devices without a rated current are not evaluated.
 */
const params = z.object({ ...enabled, holdS: positive, windowS: positive, clearRatio: z.number().positive().max(1) });
type Params = z.infer<typeof params>;
interface State extends HoldState { on: boolean; sq?: MeanSquareState }

export const overcurrentRule: Rule<Params, State> = {
  name: 'overcurrent',
  description: 'Current above the rated current of the circuit: sustained, or as the RMS of a window',
  alarmTypes: ['overcurrent'],
  kinds: ['power_meter'],
  params,
  defaults: { enabled: true, holdS: 300, windowS: 1800, clearRatio: 0.9 },
  initialState: () => ({ on: false }),
  onReading(ctx, r) {
    const rated = ctx.device.rated_current;
    const a = num(r, 'current');
    if (rated === undefined || a === undefined) return;
    const p = ctx.params;
    const s = ctx.state;
    const sustained = held(s, a > rated, ctx.now, p.holdS * 1000);
    const { rms, coveredMs } = rmsWithin((s.sq ??= emptyMeanSquare()), a, ctx.now, p.windowS * 1000, maxSampleMs(ctx.device));
    const heating = coveredMs >= (p.windowS * 1000) / 2 && rms > rated;
    if (sustained || heating) {
      s.on = true;
      ctx.raise({ type: 'overcurrent', severity: 'major', details: { current: a, rated_current: rated, rmsA: Math.round(rms * 10) / 10, sinceTs: s.since ?? ctx.now } });
    } else if (s.on && a < rated * p.clearRatio) {
      s.on = false;
      ctx.clear({ type: 'overcurrent', details: { current: a, rated_current: rated, rmsA: Math.round(rms * 10) / 10 } });
    }
  },
};
