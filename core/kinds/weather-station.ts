import { batteryField, defineKind } from './define.js';

/**
 * Site weather station (automatic weather station per GB/T 33703-2017 / WMO-No. 8 practice):
 * outdoor air temperature in °C and relative humidity in %RH, sampled in a radiation shield and
 * reported as a 10-minute value (WMO-No. 8 recommends 10-minute averaging for surface
 * observations, hence the 600 s interval). The savings report takes the daily mean of
 * `temperature` per local day as the outdoor temperature for CalTRACK degree-day baselines.
 * Bounds: −60…60 °C covers every surface air temperature recorded in China (and the report's
 * CSV upload accepts the same range); humidity is 0…100 %RH.
 */
export const weatherStation = defineKind({
  name: 'weather_station',
  label: { en: 'Weather station', zh: '气象站' },
  mainField: 'temperature',
  fields: {
    temperature: { type: 'float', unit: '°C', description: 'outdoor air temperature', min: -60, max: 60 },
    humidity: { type: 'float', unit: '%RH', description: 'outdoor relative humidity', min: 0, max: 100 },
    battery: batteryField,
  },
  cumulative: [],
  reportingIntervalS: 600,
});
