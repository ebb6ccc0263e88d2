import { batteryField, defineKind } from './define.js';

/** Sorting categories of household waste (GB/T 19095-2019): the registry sets a bin's category. */
export const binCategories = ['recyclable', 'kitchen', 'hazardous', 'residual'] as const;
export type BinCategory = (typeof binCategories)[number];

/** Smart waste bin with an ultrasonic fill sensor, thermistor, tilt switch, lid switch and load cell. */
export const smartBin = defineKind({
  name: 'smart_bin',
  label: { en: 'Smart bin', zh: '智能垃圾桶' },
  mainField: 'fill',
  fields: {
    fill: { type: 'float', unit: '%', description: 'fill level', min: 0, max: 100 },
    temperature: { type: 'float', unit: '°C', description: 'temperature inside the bin', min: -40, max: 200 },
    tilt: { type: 'bool', description: 'bin knocked over' },
    lid_open: { type: 'bool', description: 'lid left open' },
    weight: { type: 'float', unit: 'kg', description: 'load cell weight', min: 0, max: 2_000 },
    battery: batteryField,
  },
  cumulative: [],
  reportingIntervalS: 600,
});
