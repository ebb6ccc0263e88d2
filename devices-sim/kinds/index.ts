import type { Device } from '../../core/index.js';
import { deviceRng, type Rng } from '../random.js';
import type { Profile, ProfileOptions, RateStep } from './common.js';
import { createManualCallPointProfile } from './manual-call-point.js';
import { createPowerMeterProfile } from './power-meter.js';
import { createSmartBinProfile } from './smart-bin.js';
import { createSmokeDetectorProfile } from './smoke-detector.js';
import { createWaterMeterProfile, type WaterDemand, type WaterMeterProfile } from './water-meter.js';
import { createWeatherStationProfile } from './weather-station.js';

export type { LocalTime, Profile, ProfileOptions, RateStep } from './common.js';
export { localTime } from './common.js';
export { createPowerMeterProfile, type PowerMeterOptions } from './power-meter.js';
export { createSmartBinProfile } from './smart-bin.js';
export { createSmokeDetectorProfile } from './smoke-detector.js';
export { createWeatherStationProfile } from './weather-station.js';
export { createManualCallPointProfile } from './manual-call-point.js';
export { createHouseholdDemand, createMasterDemand, createWaterMeterProfile, type WaterDemand, type WaterMeterOptions, type WaterMeterProfile } from './water-meter.js';

/** One device's profile on its own, without links to other devices. */
export function createProfile(device: Device, rng: Rng, start: number, options: ProfileOptions = {}): Profile {
  switch (device.kind) {
    case 'smoke_detector': return createSmokeDetectorProfile(device, rng, start, options);
    case 'smart_bin': return createSmartBinProfile(device, rng, start, options);
    case 'water_meter': return createWaterMeterProfile(device, rng, start, options);
    case 'power_meter': return createPowerMeterProfile(device, rng, start, options);
    case 'weather_station': return createWeatherStationProfile(device, rng, start, options);
    case 'manual_call_point': return createManualCallPointProfile(device, rng, start, options);
  }
}

export interface ProfilesConfig extends ProfileOptions {
  seed: number;
  start: number;
  /** Per-device consumption steps (retrofits, see ../retrofit.ts); default none. */
  scaleFor?: (device: Device) => readonly RateStep[] | undefined;
}

/**
 * Profiles for a whole fleet, each on its own (seed, device id) stream, with the links that make a
 * compound consistent: a master water meter sums the household meters whose `parent` it is, and a
 * site's booster pump follows that site's master meter.
 */
export function createProfiles(devices: readonly Device[], config: ProfilesConfig): Map<string, Profile> {
  const base: ProfileOptions = { utcOffsetMin: config.utcOffsetMin };
  const optionsOf = (d: Device): ProfileOptions => {
    const scale = config.scaleFor?.(d);
    return scale && scale.length > 0 ? { ...base, scale } : base;
  };
  const profiles = new Map<string, Profile>();
  const rngOf = (d: Device) => deviceRng(config.seed, d.id);
  const isMaster = (d: Device) => d.kind === 'water_meter' && d.purpose === 'master';
  const isPump = (d: Device) => d.kind === 'power_meter' && d.purpose === 'water_pump';

  for (const d of devices) if (!isMaster(d) && !isPump(d)) profiles.set(d.id, createProfile(d, rngOf(d), config.start, optionsOf(d)));

  const siteDemand = new Map<string, WaterDemand>();
  for (const d of devices.filter(isMaster)) {
    const households = devices
      .filter((h) => h.kind === 'water_meter' && h.parent === d.id)
      .map((h) => (profiles.get(h.id) as WaterMeterProfile).demand);
    const profile = createWaterMeterProfile(d, rngOf(d), config.start, { ...optionsOf(d), households: households.length > 0 ? households : undefined });
    profiles.set(d.id, profile);
    if (!siteDemand.has(d.site)) siteDemand.set(d.site, profile.demand);
  }
  for (const d of devices.filter(isPump)) {
    profiles.set(d.id, createPowerMeterProfile(d, rngOf(d), config.start, { ...optionsOf(d), waterDemand: siteDemand.get(d.site) }));
  }
  return profiles;
}
