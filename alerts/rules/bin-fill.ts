import { z } from 'zod';
import type { Rule } from '../contracts.js';
import { enabled, num, oneUp, positive } from './common.js';

/**
 * Bin fill: ≥ 80 % → warning (plan a collection); ≥ 90 % → major (overflow), one level higher for
 * the hazardous category (batteries, lamps, medicines: GB/T 19095-2019 — spilled hazardous waste is
 * a pollution incident, not a tidiness issue). Emptying (a drop of ≥ 30 points between two
 * readings) clears; so does a fill below 60 % (a sensor that was wrongly high).
 *
 * These are operations settings, not a standard: ultrasonic sensors read the top of the heap, and
 * at 90 % a 240 L bin cannot take another bag without the lid staying open.
 */
const pct = z.number().min(0).max(100);
const params = z.object({ ...enabled, warnAt: pct, overflowAt: pct, emptyDrop: positive, clearBelow: pct })
  .refine((p) => p.clearBelow < p.warnAt && p.warnAt <= p.overflowAt, 'need clearBelow < warnAt <= overflowAt');
type Params = z.infer<typeof params>;
interface State { on: boolean; lastFill?: number }

/** A collection: the fill fell by at least `drop` points since the previous reading. */
export function emptied(prev: number | undefined, fill: number, drop: number): boolean {
  return prev !== undefined && prev - fill >= drop;
}

export const binFillRule: Rule<Params, State> = {
  name: 'bin_fill',
  description: 'Bin fill level above the collection and overflow levels',
  alarmTypes: ['bin_fill'],
  kinds: ['smart_bin'],
  params,
  defaults: { enabled: true, warnAt: 80, overflowAt: 90, emptyDrop: 30, clearBelow: 60 },
  initialState: () => ({ on: false }),
  onReading(ctx, r) {
    const fill = num(r, 'fill');
    if (fill === undefined) return;
    const p = ctx.params;
    const wasEmptied = emptied(ctx.state.lastFill, fill, p.emptyDrop);
    ctx.state.lastFill = fill;
    if (fill >= p.warnAt) {
      const base = fill >= p.overflowAt ? 'major' : 'warning';
      const hazardous = (r.category ?? ctx.device.category) === 'hazardous';
      ctx.state.on = true;
      ctx.raise({ type: 'bin_fill', severity: hazardous ? oneUp(base) : base, details: { fill, category: r.category ?? ctx.device.category } });
    } else if (ctx.state.on && (wasEmptied || fill < p.clearBelow)) {
      ctx.state.on = false;
      ctx.clear({ type: 'bin_fill', details: { fill, emptied: wasEmptied } });
    }
  },
};
