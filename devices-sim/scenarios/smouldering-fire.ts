import type { KindPayload } from '../../core/index.js';
import type { ScenarioFactory } from './contract.js';
import { durationOf, endOf, envelope, field, MINUTE, round, targetMatcher } from './common.js';

/**
 * Smouldering fire (a mattress or sofa smouldering from a cigarette): the shape of the EN 54-7
 * smouldering test fires TF2 (pyrolysing wood) and TF3 (glowing cotton) and of UL 217's
 * smouldering test — smoke builds slowly over half an hour or more with hardly any heat, while
 * incomplete combustion makes CO early (NIST TN 1455 "Performance of Home Smoke Alarms": CO alarms
 * often sound before photoelectric smoke alarms in smouldering fires).
 * - CO: +8 ppm/min, capped at 400 ppm — 70 ppm after ~9 min, 150 ppm after ~19 min, so the UL 2034
 *   dose rule alarms after roughly 25–30 min;
 * - smoke: +0.005 dB/m per min, capped at 1.5 — the 0.2 dB/m threshold after ~35 min (CO first);
 * - temperature: +0.05 °C/min, capped at +4 °C (no heat criterion fires);
 * - the detector's own alarm flag once obscuration passes 0.25 dB/m.
 * Default duration 60 min, then it is put out and the room clears (10-minute time constant).
 * Detectors report every minute while it lasts (a detector above its pre-alarm level).
 */
export const smoulderingFire: ScenarioFactory = (target, startAt, options) => {
  const duration = durationOf(options, 60 * MINUTE);
  return {
    name: `smouldering-fire:${target}`,
    startAt,
    endAt: endOf(startAt, duration),
    intervalMs: MINUTE,
    appliesTo: targetMatcher(target, ['smoke_detector'], options),
    apply(payload: KindPayload, elapsedMs: number): KindPayload {
      const { t, fade } = envelope(elapsedMs, duration, 10 * MINUTE);
      const min = t / MINUTE;
      const smoke = field(payload, 'smoke', 0.02) + Math.min(1.5, 0.005 * min) * fade;
      return {
        ...payload,
        smoke: round(smoke, 3),
        temperature: round(field(payload, 'temperature', 22) + Math.min(4, 0.05 * min) * fade, 1),
        co: round(field(payload, 'co', 0) + Math.min(400, 8 * min) * fade, 1),
        alarm: smoke >= 0.25,
      };
    },
  };
};
