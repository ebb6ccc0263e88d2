import type { KindPayload } from '../../core/index.js';
import type { ScenarioFactory } from './contract.js';
import { durationOf, endOf, field, MINUTE, round, targetMatcher } from './common.js';

/**
 * Electrical leakage: insulation breaking down in a damp junction box. Moisture and tracking
 * (IEC 60112) let the earth-leakage current grow in steps as paths carbonise; GB 50116-2013 §9.2.3
 * puts the residual-current alarm setting of electrical-fire monitoring detectors (GB 14287.2) at
 * 300–500 mA because a carbonised path drawing that much at 220 V dissipates tens of watts.
 * - residual current: from the normal few mA up to 350 mA over 5 min, held, then up to 550 mA over
 *   2 min from minute 10 (past the 500 mA critical level), held until the end;
 * - the load itself is unchanged (the leakage is a fault path, not a consumer worth metering).
 * Default duration 20 min, then the circuit is isolated and repaired: the normal reading returns.
 * Power meters report every 10 s while it lasts (monitoring detectors report alarms at once).
 */
export const electricalLeakage: ScenarioFactory = (target, startAt, options) => {
  const duration = durationOf(options, 20 * MINUTE) ?? 20 * MINUTE;
  return {
    name: `electrical-leakage:${target}`,
    startAt,
    endAt: endOf(startAt, duration),
    intervalMs: 10_000,
    appliesTo: targetMatcher(target, ['power_meter'], options),
    apply(payload: KindPayload, elapsedMs: number): KindPayload {
      if (elapsedMs >= duration) return payload;
      const base = field(payload, 'residual_current', 3);
      const min = elapsedMs / MINUTE;
      const ramp = (from: number, to: number, x: number) => from + (to - from) * Math.min(1, Math.max(0, x));
      const ma = min < 10 ? ramp(base, 350, min / 5) : ramp(350, 550, (min - 10) / 2);
      return { ...payload, residual_current: round(Math.max(base, ma), 1) };
    },
  };
};
