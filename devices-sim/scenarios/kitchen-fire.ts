import type { KindPayload } from '../../core/index.js';
import type { ScenarioFactory } from './contract.js';

/**
 * Kitchen fire (flaming): the shape of the EN 54-7 / GB 4715 flaming test fires, where smoke
 * obscuration and heat rise together within the first minutes.
 * - smoke: +0.02 dB/m per second from the baseline, capped at 2 dB/m (≈1 dB/m after 50 s);
 * - temperature: +0.3 °C per second (18 °C/min, well above the 8.3 °C/min rate-of-rise of EN 54-5
 *   class A1R), capped at +60 °C;
 * - CO: +2 ppm per second, capped at 300 ppm;
 * - the detector's own alarm flag once obscuration passes 0.25 dB/m.
 * Targets smoke detectors of the given building (or the one device with that id); detectors in
 * alarm report every 5 s.
 */
export const kitchenFire: ScenarioFactory = (target, startAt) => ({
  name: `fire:${target}`,
  startAt,
  intervalMs: 5_000,
  appliesTo: (device) => device.kind === 'smoke_detector' && (device.id === target || device.building === target),
  apply(payload: KindPayload, elapsedMs: number): KindPayload {
    const t = elapsedMs / 1000;
    const baseSmoke = typeof payload.smoke === 'number' ? payload.smoke : 0.02;
    const baseTemp = typeof payload.temperature === 'number' ? payload.temperature : 22;
    const baseCo = typeof payload.co === 'number' ? payload.co : 0;
    const smoke = Math.min(2, baseSmoke + 0.02 * t);
    return {
      ...payload,
      smoke: Math.round(smoke * 1000) / 1000,
      temperature: Math.round((baseTemp + Math.min(60, 0.3 * t)) * 10) / 10,
      co: Math.round(Math.min(300, baseCo + 2 * t)),
      alarm: smoke >= 0.25,
    };
  },
});
