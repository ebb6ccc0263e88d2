import type { KindPayload } from '../../core/index.js';
import type { ScenarioFactory } from './contract.js';
import { durationOf, endOf, envelope, field, MINUTE, param, round, targetMatcher } from './common.js';

/**
 * Bin fire: hot ash, a cigarette or a crushed lithium battery thrown in with the waste (waste
 * operators report lithium batteries as a leading cause of refuse fires, e.g. the UK Environmental
 * Services Association's battery-fire surveys). The waste smoulders, then flames: the temperature
 * inside the bin climbs at `rate` °C/min (default 10, above the 8 °C/min rise of `bin_fire`) up to
 * `peak` °C above normal (default +70, well past its 60 °C level).
 * Default duration 30 min, then it is put out with water and cools with a 5-minute time constant.
 * Bins report every minute while it lasts (smart bins send threshold events at once).
 */
export const binFire: ScenarioFactory = (target, startAt, options) => {
  const duration = durationOf(options, 30 * MINUTE);
  const rate = param(options, 'rate', 10);
  const peak = param(options, 'peak', 70);
  return {
    name: `bin-fire:${target}`,
    startAt,
    endAt: endOf(startAt, duration),
    intervalMs: MINUTE,
    appliesTo: targetMatcher(target, ['smart_bin'], options),
    apply(payload: KindPayload, elapsedMs: number): KindPayload {
      const { t, fade } = envelope(elapsedMs, duration, 5 * MINUTE);
      const excess = Math.min(peak, (rate * t) / MINUTE) * fade;
      return { ...payload, temperature: round(Math.min(200, field(payload, 'temperature', 15) + excess), 1) };
    },
  };
};
