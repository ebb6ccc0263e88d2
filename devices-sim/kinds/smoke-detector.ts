import type { Device } from '../../core/index.js';
import type { Rng } from '../random.js';
import {
  clamp, createForwardClock, createStamp, DAY, hourBump, indoorTemperature, localTime, MINUTE, normalizeDaily, round,
  type Profile, type ProfileOptions,
} from './common.js';
import { createEventTrack, type EventTrack } from './events.js';

/**
 * A smoke detector's quiet life: a clean chamber reads a few hundredths of a dB/m, creeping up
 * slowly as dust settles in it over the months; temperature follows the room; a CO cell reads
 * 0–3 ppm. Kitchen detectors see cooking: meals add a little haze, warmth and, over gas stoves,
 * a ppm or two of CO — all far below any alarm level, so the baseline never raises an alarm.
 * Every report is also the device's heartbeat; the battery (a long-life lithium cell) drains a
 * few hundredths of a % a day.
 */

const meals = normalizeDaily((h) => 0.05 + 0.6 * hourBump(h, 7, 0.7) + 0.8 * hourBump(h, 11.7, 0.8) + hourBump(h, 18.2, 0.9));

export function createSmokeDetectorProfile(device: Device, rng: Rng, start: number, options: ProfileOptions = {}): Profile {
  const off = options.utcOffsetMin;
  const kitchen = /kitchen|厨房/i.test(`${device.location ?? ''} ${device.name}`);
  const noise = rng.fork('noise');
  const smoke0 = noise.uniform(0.01, 0.04);
  const dustPerDay = noise.uniform(0.00002, 0.0001); // dB/m a day: a few hundredths over years
  const co0 = noise.uniform(0, 1);
  const battery0 = noise.uniform(60, 100);
  const drainPerDay = noise.uniform(0.01, 0.04);

  let cooking: EventTrack | undefined;
  if (kitchen) {
    cooking = createEventTrack({
      rng: rng.fork('cooking'),
      start,
      ratePerHour: (t) => (2.5 * meals(localTime(t, off).hour)) / 24,
      draw: (r) => ({ durationMs: r.uniform(10, 40) * MINUTE, level: r.uniform(0.3, 1) }),
    });
  }
  const clock = createForwardClock(start);
  const stamp = createStamp();

  return {
    device,
    kind: 'smoke_detector',
    next(at) {
      const { now } = clock(at);
      const days = (now - start) / DAY;
      // Overlapping dishes do not stack up without limit: cap the intensity at 1.
      const cook = Math.min(1, cooking?.levelAt(now) ?? 0);
      return stamp(now, {
        smoke: round(clamp(smoke0 + dustPerDay * days + 0.06 * cook + noise.normal(0, 0.004), 0, 0.2), 3),
        temperature: round(indoorTemperature(now, off) + 2.5 * cook + noise.normal(0, 0.2), 1),
        co: round(clamp(co0 + 1.5 * cook + noise.normal(0, 0.2), 0, 3), 1),
        alarm: false,
        test: false,
        battery: round(Math.max(0, battery0 - drainPerDay * days), 0),
      });
    },
  };
}
