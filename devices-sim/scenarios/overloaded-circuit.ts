import type { KindPayload } from '../../core/index.js';
import type { ScenarioFactory } from './contract.js';
import { activeMs, durationOf, endOf, field, MINUTE, param, round, targetMatcher } from './common.js';

/**
 * Overloaded circuit: space heaters plugged into a stairwell or flat circuit in a cold snap.
 * GB/T 10963.1 (IEC 60898-1) lets a breaker carry 1.13 In for an hour without tripping, so a
 * circuit can run overloaded long enough for its cable to overheat; conductor heating goes with I².
 * - an extra load of `ratio` × the rated current (default 1.2 In, at 220 V) on top of the normal
 *   load (a lightly loaded circuit ends up at 1.3–1.5 In, the band a breaker may carry for up to an
 *   hour): current and power rise by it, and the energy register gains exactly that load's energy,
 *   so the register stays monotonic and consistent with power;
 * - cable temperature approaches its new steady state with the 20-minute thermal time constant of
 *   the power-meter profile: +40 K × ((I/In)² − (I₀/In)²) (PVC: 40 K rise at rated current), so a
 *   long overload also passes the 70 °C PVC limit.
 * Default duration 60 min, then the heaters are switched off and the cable cools with the same
 * time constant. Targets power meters (`rated_current` from the registry, else 16 A).
 */
export const overloadedCircuit: ScenarioFactory = (target, startAt, options) => {
  const duration = durationOf(options, 60 * MINUTE);
  const ratio = param(options, 'ratio', 1.2);
  const tau = 20 * MINUTE;
  return {
    name: `overloaded-circuit:${target}`,
    startAt,
    endAt: endOf(startAt, duration),
    appliesTo: targetMatcher(target, ['power_meter'], options),
    apply(payload: KindPayload, elapsedMs: number, device): KindPayload {
      const rated = device.rated_current ?? 16;
      const extraW = ratio * rated * 220;
      const ran = activeMs(elapsedMs, duration);
      const on = duration === undefined || elapsedMs < duration;
      const voltage = field(payload, 'voltage', 220);
      const i0 = field(payload, 'current', 0);
      const current = i0 + (on ? extraW / voltage : 0);
      const warm = 1 - Math.exp(-ran / tau);
      const cool = on ? 1 : Math.exp(-(elapsedMs - ran) / tau);
      const rise = 40 * (((i0 + extraW / voltage) / rated) ** 2 - (i0 / rated) ** 2) * warm * cool;
      return {
        ...payload,
        energy: round(field(payload, 'energy', 0) + (extraW * ran) / 3_600_000 / 1000, 3),
        power: round(field(payload, 'power', 0) + (on ? extraW : 0), 1),
        current: round(current, 3),
        cable_temperature: round(Math.min(300, field(payload, 'cable_temperature', 25) + rise), 1),
      };
    },
  };
};
