import type { KindPayload } from '../../core/index.js';
import type { ScenarioFactory } from './contract.js';
import { activeMs, durationOf, endOf, field, MINUTE, round, targetMatcher, unitHash } from './common.js';

/**
 * Household leak: a running toilet cistern (a worn flapper or a fill valve that never shuts), the
 * most common domestic leak. It runs day and night at a fraction of a litre a minute — 0.3–0.5 L/min
 * (about 430–720 L a day, the order of magnitude water utilities quote for a running toilet), each
 * device at its own stable rate, or `lpm` when given. Its signature is the one Kamstrup's LEAK info
 * code looks for: the household never has a quiet hour any more.
 * - flow: the normal flow plus the leak;
 * - volume: the normal register plus the leaked volume, so it stays monotonic and consistent.
 * Lasts until the fleet stops, or `durationMs` (the plumber came); the leaked water stays counted.
 * Targets household water meters by default.
 */
export const householdLeak: ScenarioFactory = (target, startAt, options) => {
  const duration = durationOf(options, undefined);
  const given = options?.params?.lpm;
  const matches = targetMatcher(target, ['water_meter'], options);
  return {
    name: `household-leak:${target}`,
    startAt,
    endAt: endOf(startAt, duration),
    appliesTo: (device) => matches(device) && (options?.filter?.purpose !== undefined || device.purpose === 'household'),
    apply(payload: KindPayload, elapsedMs: number, device): KindPayload {
      const lpm = given ?? round(0.3 + 0.2 * unitHash('leak', device.id), 2);
      const on = duration === undefined || elapsedMs < duration;
      const litres = (lpm * activeMs(elapsedMs, duration)) / MINUTE;
      return {
        ...payload,
        flow: round(field(payload, 'flow', 0) + (on ? lpm : 0), 2),
        volume: round(field(payload, 'volume', 0) + litres / 1000, 3),
      };
    },
  };
};
