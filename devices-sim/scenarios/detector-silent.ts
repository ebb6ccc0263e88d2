import type { KindPayload } from '../../core/index.js';
import type { ScenarioFactory } from './contract.js';
import { durationOf, endOf, targetMatcher } from './common.js';

/**
 * Detector going silent: a resident pulls the battery after a nuisance alarm, or the radio dies.
 * Missing or disconnected batteries are the leading reason smoke alarms fail to operate in home
 * fires (NFPA, "Smoke Alarms in U.S. Home Fires"); GB 4717-2005 makes a control unit show a lost
 * detector as a fault. The device stops publishing altogether (its connection may stay up), so the
 * platform can only notice by the silence: `offline` after 3 reporting intervals.
 * Lasts until the fleet stops, or `durationMs` (battery back in); then it reports as before.
 * Targets smoke detectors by default; a `kind` filter silences any kind.
 */
export const detectorSilent: ScenarioFactory = (target, startAt, options) => {
  const duration = durationOf(options, undefined);
  return {
    name: `detector-silent:${target}`,
    startAt,
    endAt: endOf(startAt, duration),
    appliesTo: targetMatcher(target, ['smoke_detector'], options),
    apply: (payload: KindPayload) => payload,
    suppress: (elapsedMs) => duration === undefined || elapsedMs < duration,
  };
};
