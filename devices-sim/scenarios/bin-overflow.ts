import type { KindPayload } from '../../core/index.js';
import type { ScenarioFactory } from './contract.js';
import { durationOf, endOf, field, HOUR, param, round, targetMatcher } from './common.js';

/**
 * Bin overflow: a missed collection on a busy day (the days after Spring Festival, a moving day):
 * the bin, already at `from` % (default 40), fills at `rate` %/h (default 25 — about ten times the
 * daily average of a kitchen-waste bin in the smart-bin profile) until it is brim full. Weight grows
 * with the fill at the bin's own weight-to-fill ratio (0.2 kg/L × 240 L when it reports none), so
 * the load cell agrees with the ultrasonic sensor. Passes the 80 % warning and 90 % overflow levels
 * of `bin_fill` and lets `bin_time_to_full` predict it from the trend.
 * Default duration 4 h, then the crew empties it and the normal profile takes over again.
 */
export const binOverflow: ScenarioFactory = (target, startAt, options) => {
  const duration = durationOf(options, 4 * HOUR) ?? 4 * HOUR;
  const from = param(options, 'from', 40);
  const rate = param(options, 'rate', 25);
  return {
    name: `bin-overflow:${target}`,
    startAt,
    endAt: endOf(startAt, duration),
    appliesTo: targetMatcher(target, ['smart_bin'], options),
    apply(payload: KindPayload, elapsedMs: number): KindPayload {
      if (elapsedMs >= duration) return payload;
      const baseFill = field(payload, 'fill', 0);
      const fill = Math.min(100, Math.max(baseFill, from + (rate * elapsedMs) / HOUR));
      const kgPerPct = baseFill > 5 ? field(payload, 'weight', 0) / baseFill : 0.48;
      return { ...payload, fill: round(fill, 1), weight: round(Math.min(2_000, fill * kgPerPct), 1) };
    },
  };
};
