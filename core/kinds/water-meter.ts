import { valveCodes } from './codes.js';
import { batteryField, defineKind } from './define.js';

/**
 * Water meter (GB/T 778 / ISO 4064). `volume` is the cumulative register in m³; `flow` the
 * instantaneous flow in L/min. The flow bound is generous: a DN150 master meter's Q4 is 787.5 m³/h,
 * about 13,000 L/min. A valve-controlled meter (阀控水表, registry capability `valve`) also reports
 * `valve`, its valve's state code (core/kinds/codes.ts: 0 open, 1 closed, 2 moving, 3 fault, after
 * CJ/T 188-2018 status bits ST D0–D1); a meter without a valve leaves it out.
 */
export const waterMeter = defineKind({
  name: 'water_meter',
  label: { en: 'Water meter', zh: '水表' },
  mainField: 'volume',
  fields: {
    volume: { type: 'float', unit: 'm³', description: 'cumulative volume register', min: 0, max: 1e9 },
    flow: { type: 'float', unit: 'L/min', description: 'instantaneous flow', min: 0, max: 20_000 },
    valve: { type: 'float', description: 'valve state code', codes: valveCodes },
    battery: batteryField,
  },
  cumulative: ['volume'],
  reportingIntervalS: 900,
});
