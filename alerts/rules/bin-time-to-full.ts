import { z } from 'zod';
import type { Rule } from '../contracts.js';
import { emptied } from './bin-fill.js';
import { enabled, HOUR, MINUTE, num, positive } from './common.js';

/**
 * Time to full: a least-squares line through the fill readings since the last emptying predicts
 * when the bin reaches 90 % (the overflow level of `bin_fill`); within the horizon (default 4 h,
 * about one collection round) → warning carrying the predicted time, so a crew can be routed
 * before the overflow. Running sums keep the state O(1) whatever the number of readings.
 * Needs ≥ 3 readings over ≥ 30 min (one bag is not a trend). Clears on emptying, or when the
 * prediction moves beyond 1.5× the horizon (hysteresis: drop-off slowed down).
 */
const params = z.object({ ...enabled, target: z.number().min(1).max(100), horizonH: positive, emptyDrop: positive, minPoints: z.number().int().min(2),
  minSpanMin: positive });
type Params = z.infer<typeof params>;
interface State { on: boolean; t0?: number; n: number; sx: number; sy: number; sxx: number; sxy: number; lastFill?: number; firstTs?: number }

const fresh = (): State => ({ on: false, n: 0, sx: 0, sy: 0, sxx: 0, sxy: 0 });

export const binTimeToFullRule: Rule<Params, State> = {
  name: 'bin_time_to_full',
  description: 'Predicted time until the bin is full, from the fill rate since the last emptying',
  alarmTypes: ['bin_time_to_full'],
  kinds: ['smart_bin'],
  params,
  defaults: { enabled: true, target: 90, horizonH: 4, emptyDrop: 30, minPoints: 3, minSpanMin: 30 },
  initialState: fresh,
  onReading(ctx, r) {
    const fill = num(r, 'fill');
    if (fill === undefined) return;
    const s = ctx.state;
    const p = ctx.params;
    if (emptied(s.lastFill, fill, p.emptyDrop)) {
      if (s.on) ctx.clear({ type: 'bin_time_to_full', details: { fill, emptied: true } });
      Object.assign(s, fresh());
    }
    s.lastFill = fill;
    s.t0 ??= ctx.now;
    s.firstTs ??= ctx.now;
    // Hours since the run began: small numbers keep the sums exact enough in doubles.
    const x = (ctx.now - s.t0) / HOUR;
    s.n += 1; s.sx += x; s.sy += fill; s.sxx += x * x; s.sxy += x * fill;
    if (s.n < p.minPoints || ctx.now - s.firstTs < p.minSpanMin * MINUTE) return;
    const den = s.n * s.sxx - s.sx * s.sx;
    if (den <= 0) return;
    const slope = (s.n * s.sxy - s.sx * s.sy) / den; // % per hour
    const intercept = (s.sy - slope * s.sx) / s.n;
    const predicted = slope > 0 ? Math.max(ctx.now, s.t0 + ((p.target - intercept) / slope) * HOUR) : Infinity;
    const hours = (predicted - ctx.now) / HOUR;
    if (hours <= p.horizonH) {
      s.on = true;
      ctx.raise({
        type: 'bin_time_to_full', severity: 'warning',
        details: { fill, ratePctPerHour: Math.round(slope * 100) / 100, predictedFullTs: Math.round(predicted),
          predictedFullAt: new Date(predicted).toISOString() },
      });
    } else if (s.on && hours > p.horizonH * 1.5) {
      s.on = false;
      ctx.clear({ type: 'bin_time_to_full', details: { fill, ratePctPerHour: Math.round(slope * 100) / 100 } });
    }
  },
};
