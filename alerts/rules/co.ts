import { z } from 'zod';
import type { Rule } from '../contracts.js';
import { enabled, MINUTE, num, positive } from './common.js';
import { maxSampleMs } from './windows.js';

/**
 * Carbon monoxide, time-weighted like UL 2034 → critical.
 *
 * UL 2034 (residential CO alarms) alarm points: 70 ppm within 60–240 min, 150 ppm within
 * 10–50 min, 400 ppm within 4–15 min — and no alarm at 30 ppm for 30 days. A detector integrates
 * exposure (it models carboxyhaemoglobin build-up), so this rule does too: each interval between
 * samples adds `dt / T(c)` to a dose, where T(c) is the time allowed at the highest alarm point the
 * concentration reaches (sample-and-hold). The alarm fires when the dose reaches 1, i.e. at the
 * earliest point UL 2034 permits for a steady concentration, and mixed exposures add up.
 * Below the lowest point the dose recovers linearly over `recoveryMin` (a design choice: UL 2034
 * says nothing on recovery; 60 min roughly matches COHb elimination with fresh air).
 * Clear below 30 ppm (UL 2034's no-alarm level), hysteresis against a draught flapping it.
 * A sample stands for at most two reporting intervals: a detector silent for hours after reading
 * 80 ppm has not shown hours of exposure.
 */
const point = z.object({ ppm: positive, minutes: positive });
const params = z.object({ ...enabled, points: z.array(point).min(1), clearBelow: positive, recoveryMin: positive });
type Params = z.infer<typeof params>;
interface State { on: boolean; dose: number; lastTs?: number; lastPpm?: number }

function allowedMinutes(ppm: number, points: readonly { ppm: number; minutes: number }[]): number | undefined {
  let best: number | undefined;
  for (const p of points) if (ppm >= p.ppm && (best === undefined || p.minutes < best)) best = p.minutes;
  return best;
}

export const coRule: Rule<Params, State> = {
  name: 'co',
  description: 'Carbon monoxide exposure dose per UL 2034 alarm points',
  alarmTypes: ['co'],
  kinds: ['smoke_detector'],
  params,
  defaults: {
    enabled: true,
    points: [{ ppm: 70, minutes: 60 }, { ppm: 150, minutes: 10 }, { ppm: 400, minutes: 4 }],
    clearBelow: 30,
    recoveryMin: 60,
  },
  initialState: () => ({ on: false, dose: 0 }),
  onReading(ctx, r) {
    const ppm = num(r, 'co');
    if (ppm === undefined) return;
    const s = ctx.state;
    if (s.lastTs !== undefined && s.lastPpm !== undefined && ctx.now > s.lastTs) {
      const dtMin = Math.min(ctx.now - s.lastTs, maxSampleMs(ctx.device)) / MINUTE;
      const allowed = allowedMinutes(s.lastPpm, ctx.params.points);
      s.dose = allowed !== undefined ? Math.min(1, s.dose + dtMin / allowed) : Math.max(0, s.dose - dtMin / ctx.params.recoveryMin);
      // Floating sums of dt/T land a hair under 1 at exactly the UL point: round to 1e-9.
      s.dose = Math.round(s.dose * 1e9) / 1e9;
    }
    if (s.lastTs === undefined || ctx.now >= s.lastTs) {
      s.lastTs = ctx.now;
      s.lastPpm = ppm;
    }
    if (s.dose >= 1 && ppm >= ctx.params.clearBelow) {
      s.on = true;
      ctx.raise({ type: 'co', severity: 'critical', details: { co: ppm, dosePct: Math.round(s.dose * 100) } });
    } else if (s.on && ppm < ctx.params.clearBelow) {
      s.on = false;
      ctx.clear({ type: 'co', details: { co: ppm, dosePct: Math.round(s.dose * 100) } });
    }
  },
};
