import type { Device } from '../../core/index.js';
import type { Rng } from '../random.js';
import { annualCosine, clamp, createForwardClock, createStamp, DAY, localTime, outdoorTemperature, round, type Profile, type ProfileOptions } from './common.js';

/**
 * A site weather station: the same Shanghai-like outdoor climate the meters' loads follow
 * (`outdoorTemperature` in common.ts, daily and seasonal cycles), with sensor noise; relative
 * humidity in the humid-subtropical range, highest before dawn and in the plum-rain season
 * (June–July), lowest in the afternoon. Degree-day baselines in reports read it.
 */
export function createWeatherStationProfile(device: Device, rng: Rng, start: number, options: ProfileOptions = {}): Profile {
  const off = options.utcOffsetMin;
  const noise = rng.fork('noise');
  const clock = createForwardClock(start);
  const stamp = createStamp();
  const battery0 = noise.uniform(80, 100);
  return {
    device,
    kind: 'weather_station',
    next(at) {
      const { now } = clock(at);
      const { hour, dayOfYear } = localTime(now, off);
      const temperature = outdoorTemperature(now, off) + noise.normal(0, 0.3);
      // Diurnal: RH peaks near 05:00 and bottoms near 15:00; seasonal: wettest around day 180.
      const humidity = 72 + 12 * Math.cos(((hour - 5) / 24) * 2 * Math.PI) + 8 * annualCosine(dayOfYear, 180) + noise.normal(0, 2);
      return stamp(now, {
        temperature: round(temperature, 1),
        humidity: round(clamp(humidity, 20, 100), 1),
        battery: round(clamp(battery0 - ((now - start) / DAY) * 0.01, 0, 100), 0),
      });
    },
  };
}
