import { batteryField, defineKind } from './define.js';

/**
 * Point-type smoke detector (GB 4715-2005 / EN 54-7), usually with a heat element (EN 54-5)
 * and often a CO cell (UL 2034). Obscuration is reported in dB/m; GB 4715's response threshold
 * range for the fire tests lies well under 2 dB/m, so 20 dB/m bounds what any sensor can report.
 */
export const smokeDetector = defineKind({
  name: 'smoke_detector',
  label: { en: 'Smoke detector', zh: '烟感探测器' },
  mainField: 'smoke',
  // Many detectors (Zigbee, NB-IoT) report only their alarm state, not obscuration.
  requiredOneOf: ['smoke', 'alarm'],
  fields: {
    smoke: { type: 'float', unit: 'dB/m', description: 'smoke obscuration', min: 0, max: 20 },
    temperature: { type: 'float', unit: '°C', description: 'ambient temperature', min: -40, max: 200 },
    co: { type: 'float', unit: 'ppm', description: 'carbon monoxide concentration', min: 0, max: 10_000 },
    alarm: { type: 'bool', description: "the detector's own alarm decision" },
    test: { type: 'bool', description: 'test button pressed: log, never notify' },
    battery: batteryField,
  },
  cumulative: [],
  reportingIntervalS: 300,
});
