import type { KindPayload } from '../../core/index.js';
import type { ScenarioFactory } from './contract.js';
import { durationOf, endOf, envelope, field, MINUTE, param, round, targetMatcher } from './common.js';

/**
 * Kitchen fire (flaming): the shape of the EN 54-7 / GB 4715 flaming test fires (TF4 plastics,
 * TF5 n-heptane), where smoke obscuration and heat rise together within the first minutes.
 * - smoke: +0.02 dB/m per second from the baseline, capped at 2 dB/m (≈1 dB/m after 50 s);
 * - temperature: +0.3 °C per second (18 °C/min, well above the 8.3 °C/min rate-of-rise of EN 54-5
 *   class A1R), capped at +60 °C;
 * - CO: +2 ppm per second, capped at 300 ppm;
 * - the detector's own alarm flag once obscuration passes 0.25 dB/m.
 * Lasts until the fleet stops, or `durationMs`; then it is put out and every excess decays with a
 * 2-minute time constant (a ventilated room). Targets smoke detectors of the device, building or
 * site named; detectors in alarm report every 5 s. With `params.alarmOnly = 1` the detectors are
 * the alarm-only kind (most NB-IoT and Zigbee home smoke alarms): their reports carry only
 * `alarm` and `battery`.
 */
export const kitchenFire: ScenarioFactory = (target, startAt, options) => {
  const duration = durationOf(options, undefined);
  const alarmOnly = param(options, 'alarmOnly', 0) === 1;
  return {
    name: `fire:${target}`,
    startAt,
    endAt: endOf(startAt, duration),
    intervalMs: 5_000,
    appliesTo: targetMatcher(target, ['smoke_detector'], options),
    apply(payload: KindPayload, elapsedMs: number): KindPayload {
      const { t: tMs, fade } = envelope(elapsedMs, duration, 2 * MINUTE);
      const t = tMs / 1000;
      const baseSmoke = field(payload, 'smoke', 0.02);
      const smoke = baseSmoke + (Math.min(2, baseSmoke + 0.02 * t) - baseSmoke) * fade;
      if (alarmOnly) {
        const { ts, seq, battery } = payload;
        return { ...(ts !== undefined ? { ts } : {}), ...(seq !== undefined ? { seq } : {}), ...(battery !== undefined ? { battery } : {}),
          alarm: smoke >= 0.25 };
      }
      return {
        ...payload,
        smoke: round(smoke, 3),
        temperature: round(field(payload, 'temperature', 22) + Math.min(60, 0.3 * t) * fade, 1),
        co: Math.round(Math.min(300, field(payload, 'co', 0) + 2 * t * fade)),
        alarm: smoke >= 0.25,
      };
    },
  };
};
