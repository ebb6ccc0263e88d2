import type { KindPayload } from '../../core/index.js';
import type { ScenarioFactory } from './contract.js';
import { durationOf, field, MINUTE, param, round, targetMatcher } from './common.js';

/**
 * Cooking nuisance (burnt toast, a wok of chilli stir-fry): a brief puff of cooking aerosol that
 * a kitchen detector sees but that must not become a fire alarm. NIST TN 1455 and the UL 217 8th
 * edition "hamburger broiling" nuisance test are the source of the shape: obscuration peaks within
 * a few minutes and clears as quickly, with no heat worth the name and CO of a few ppm.
 * - smoke: a triangle peaking at `peak` (default 0.16 dB/m, under the platform's 0.2 dB/m smoke
 *   threshold and the detector's 0.25) half-way through, never below the normal reading;
 * - temperature: at most +1 °C; CO: at most 8 ppm (UL 2034 does not alarm below 30 ppm);
 * - the detector's own flag stays false.
 * Default duration 6 min; detectors report every 30 s while it lasts.
 */
export const cookingNuisance: ScenarioFactory = (target, startAt, options) => {
  const duration = durationOf(options, 6 * MINUTE) ?? 6 * MINUTE;
  const peak = Math.min(0.19, param(options, 'peak', 0.16));
  return {
    name: `cooking-nuisance:${target}`,
    startAt,
    endAt: startAt + duration,
    intervalMs: 30_000,
    appliesTo: targetMatcher(target, ['smoke_detector'], options),
    apply(payload: KindPayload, elapsedMs: number): KindPayload {
      if (elapsedMs >= duration) return payload;
      const x = 1 - Math.abs(2 * (elapsedMs / duration) - 1); // 0 → 1 → 0
      return {
        ...payload,
        smoke: round(Math.max(field(payload, 'smoke', 0.02), peak * x), 3),
        temperature: round(field(payload, 'temperature', 22) + x, 1),
        co: round(Math.max(field(payload, 'co', 0), 8 * x), 1),
        alarm: false,
      };
    },
  };
};
