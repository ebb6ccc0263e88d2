import type { KindPayload } from '../../core/index.js';
import type { ScenarioFactory } from './contract.js';
import { activeMs, durationOf, endOf, field, HOUR, MINUTE, param, round, targetMatcher } from './common.js';

/**
 * Pipe burst: a fractured supply pipe behind the meter (a frozen pipe splitting, a push-fit joint
 * letting go) runs at the flow the supply pressure drives through the break until someone closes
 * the valve — a step, not a ramp. The flow is `q3Share` (default 0.8) of the meter's permanent flow
 * rate Q3 (ISO 4064 / GB/T 778, registry `q3` in m³/h; 2.5 m³/h, a DN15 household meter, when the
 * registry gives none): well above the 50 % of Q3 that `water_burst` holds for 30 min.
 * - flow: the normal flow plus the burst; volume: the normal register plus the water lost.
 * Default duration 2 h, then the valve is closed; the lost water stays on the register.
 * Water meters report every 5 min while it lasts (a meter's alarm-triggered reporting).
 */
export const pipeBurst: ScenarioFactory = (target, startAt, options) => {
  const duration = durationOf(options, 2 * HOUR);
  const share = param(options, 'q3Share', 0.8);
  return {
    name: `pipe-burst:${target}`,
    startAt,
    endAt: endOf(startAt, duration),
    intervalMs: 5 * MINUTE,
    appliesTo: targetMatcher(target, ['water_meter'], options),
    apply(payload: KindPayload, elapsedMs: number, device): KindPayload {
      const lpm = ((device.q3 ?? 2.5) * 1000 * share) / 60;
      const on = duration === undefined || elapsedMs < duration;
      const litres = (lpm * activeMs(elapsedMs, duration)) / MINUTE;
      return {
        ...payload,
        flow: round(Math.min(20_000, field(payload, 'flow', 0) + (on ? lpm : 0)), 1),
        volume: round(field(payload, 'volume', 0) + litres / 1000, 3),
      };
    },
  };
};
