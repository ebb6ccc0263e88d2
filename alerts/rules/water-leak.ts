import { z } from 'zod';
import type { Rule } from '../contracts.js';
import { enabled, HOUR, num, positive } from './common.js';

/**
 * Leak: no continuous quiet hour within 24 h → major; cleared by a quiet hour.
 *
 * Kamstrup's LEAK info code (MULTICAL 21 / flowIQ): a household always has a quiet hour, usually
 * at night; a running cistern or a weeping pipe takes it away. "Quiet" is Kamstrup's sensitivity
 * setting, a share of Q3: the flow stays at or below 0.1 % of Q3 (its most sensitive option;
 * 2.5 L/h on a Q3 = 2.5 m³/h meter, so a 6 L/h drip is a leak).
 *
 * Judged on the volume register, not on flow samples: the register integrates every litre
 * between two readings, whatever the reporting interval. An hour is quiet when the register
 * advanced by at most quiet × 1 h over a span of at least an hour (a meter reporting every minute
 * with 0.1 L steps shows 6 L in the hour: not quiet; one reporting every 4 h that did not move in
 * 4 h had a quiet hour in them). Readings more than 1.5 h apart can hide a quiet hour inside a
 * span that used water, so they cannot prove its absence; there the rule falls back on the lowest
 * flow of the day (the minimum-night-flow idea of the IWA water balance): a span of up to 6 h
 * whose mean is at or above 0.25 % of Q3 (Kamstrup's next setting; 6.25 L/h, about four times a
 * household's legitimate night use) counts as leaking, one below it is inconclusive and restarts
 * the 24 h. So a leak-free home reporting every 4 h is never flagged by its usage, and a meter
 * is judged only after 24 h of readings. Meters without Q3 use 2.5 m³/h, the common DN15 size.
 * Master meters are left out by default: a compound's supply never rests for an hour, so its
 * losses are judged by `water_balance` instead.
 */
const pct = z.number().positive().max(10);
const params = z.object({
  ...enabled, includeMaster: z.boolean(), quietPctQ3: pct, sparsePctQ3: pct, fallbackQ3: positive, quietH: positive, sparseMaxH: positive, windowH: positive,
}).refine((p) => p.quietPctQ3 <= p.sparsePctQ3 && p.quietH < p.sparseMaxH && p.sparseMaxH <= p.windowH, 'need quietPctQ3 <= sparsePctQ3 and quietH < sparseMaxH <= windowH');
type Params = z.infer<typeof params>;
interface State {
  on: boolean;
  firstTs?: number;
  /** [ts, m³] readings, at least 1/12 of the quiet span apart, back to the newest one a quiet span old. */
  pts?: Array<[number, number]>;
  /** The latest reading. */
  last?: [number, number];
  lastQuietTs?: number;
  /** End of the last span that could neither prove nor rule out a quiet hour. */
  lastUnknownTs?: number;
  /** End of the last span judged by the minimum flow (readings far apart). */
  lastSparseTs?: number;
  /** Lowest mean flow (L/h) of the spans since the last quiet or inconclusive one. */
  minLph?: number;
}

export const waterLeakRule: Rule<Params, State> = {
  name: 'water_leak',
  description: 'No continuous quiet hour within a day, from the volume register (Kamstrup LEAK logic)',
  alarmTypes: ['water_leak'],
  kinds: ['water_meter'],
  params,
  defaults: { enabled: true, includeMaster: false, quietPctQ3: 0.1, sparsePctQ3: 0.25, fallbackQ3: 2.5, quietH: 1, sparseMaxH: 6, windowH: 24 },
  initialState: () => ({ on: false }),
  onReading(ctx, r) {
    const volume = num(r, 'volume');
    if (volume === undefined) return;
    if (ctx.device.purpose === 'master' && !ctx.params.includeMaster) return;
    const s = ctx.state;
    const p = ctx.params;
    const now = ctx.now;
    const latest = s.last;
    if (latest && now <= latest[0]) return;
    if (latest && volume < latest[1]) {
      // A register that went back is a new or reset meter: start over.
      for (const k of ['pts', 'lastQuietTs', 'lastUnknownTs', 'lastSparseTs', 'minLph'] as const) delete s[k];
      s.firstTs = now;
    }
    s.last = [now, volume];
    s.firstTs ??= now;
    const q3 = ctx.device.q3 ?? p.fallbackQ3;
    const quietLph = (q3 * 1000 * p.quietPctQ3) / 100;
    const sparseLph = (q3 * 1000 * p.sparsePctQ3) / 100;
    const quietMs = p.quietH * HOUR;

    // The newest reading at least a quiet span before this one: the span to judge.
    let ref: [number, number] | undefined;
    for (const pt of s.pts ?? []) if (pt[0] <= now - quietMs) ref = pt;
    if (ref) {
      const spanMs = now - ref[0];
      const lph = ((volume - ref[1]) * 1000) / (spanMs / HOUR);
      if (lph <= quietLph) {
        s.lastQuietTs = now;
        delete s.minLph;
      } else if (spanMs > 1.5 * quietMs && (spanMs > p.sparseMaxH * HOUR || lph < sparseLph)) {
        s.lastUnknownTs = now;
        delete s.minLph;
      } else {
        if (spanMs > 1.5 * quietMs) s.lastSparseTs = now;
        s.minLph = Math.min(s.minLph ?? Infinity, lph);
      }
    }
    const kept = s.pts ?? [];
    const tail = kept[kept.length - 1];
    if (!tail || now - tail[0] >= quietMs / 12) kept.push([now, volume]);
    // Keep back to the newest reading a quiet span old (the next span's start), no further.
    while (kept.length > 2 && (kept[1] as [number, number])[0] <= now - quietMs) kept.shift();
    s.pts = kept;

    if (s.on && s.lastQuietTs === now) {
      s.on = false;
      ctx.clear({ type: 'water_leak', details: { quietLph: Math.round(quietLph * 10) / 10 } });
      return;
    }
    const judgedFrom = Math.max(s.firstTs, s.lastQuietTs ?? -Infinity, s.lastUnknownTs ?? -Infinity);
    if (now - judgedFrom >= p.windowH * HOUR) {
      s.on = true;
      ctx.raise({
        type: 'water_leak', severity: 'major',
        details: {
          method: (s.lastSparseTs ?? -Infinity) > now - p.windowH * HOUR ? 'minimum_flow' : 'no_quiet_hour',
          minFlowLph: s.minLph === undefined ? null : Math.round(s.minLph * 10) / 10, quietLph: Math.round(quietLph * 10) / 10,
          lastQuietHourTs: s.lastQuietTs ?? null,
        },
      });
    }
  },
};
