import type { KindPayload } from '../../core/index.js';
import type { ScenarioFactory } from './contract.js';
import { field, MINUTE, param, targetMatcher } from './common.js';

/**
 * Low battery: a cell reaching the end of its life. Lithium primary cells (Li-MnO₂, Li-SOCl₂, the
 * cells of 10-year detectors and battery meters) hold a flat voltage for years and then fall off a
 * knee, so a device's fuel gauge drops fast at the end; here the knee is compressed from days to
 * minutes so that the alarms can be seen in a demo: from min(normal, `from` = 24 %) down by `rate`
 * %/min (default 0.2) to a floor of `floor` % (default 5), past `battery`'s 20 % warning and 10 %
 * level (major for smoke detectors: EN 14604 wants 30 days of alarm capability left at the warning).
 * Lasts until the fleet stops (nobody changed the battery). Targets every battery-powered kind.
 */
export const lowBattery: ScenarioFactory = (target, startAt, options) => {
  const from = param(options, 'from', 24);
  const rate = param(options, 'rate', 0.2);
  const floor = param(options, 'floor', 5);
  return {
    name: `low-battery:${target}`,
    startAt,
    appliesTo: targetMatcher(target, ['smoke_detector', 'smart_bin', 'water_meter'], options),
    apply(payload: KindPayload, elapsedMs: number): KindPayload {
      const start = Math.min(field(payload, 'battery', 100), from);
      return { ...payload, battery: Math.round(Math.max(floor, start - (rate * elapsedMs) / MINUTE)) };
    },
  };
};
