import type { KindPayload } from '../../core/index.js';
import type { ScenarioFactory } from './contract.js';
import { durationOf, endOf, targetMatcher } from './common.js';

/**
 * Someone presses a manual call point (GB 19880-2005): it reports `alarm: true` at once and on
 * every report while pressed — the element latches until it is reset with its key — then, after
 * `durationMs` (default: until the fleet stops), `alarm: false`. Call points report every 5 s
 * while pressed. Targets manual call points of the device, building or site named.
 */
export const callPoint: ScenarioFactory = (target, startAt, options) => {
  const duration = durationOf(options, undefined);
  return {
    name: `call-point:${target}`,
    startAt,
    endAt: endOf(startAt, duration),
    intervalMs: 5_000,
    appliesTo: targetMatcher(target, ['manual_call_point'], options),
    apply(payload: KindPayload, elapsedMs: number): KindPayload {
      return { ...payload, alarm: duration === undefined || elapsedMs < duration };
    },
  };
};
