import { switchCodes } from './codes.js';
import { defineKind } from './define.js';

/**
 * Electricity meter with electrical-fire monitoring (GB 14287 residual-current and temperature
 * channels). `energy` is the cumulative active-energy register in kWh. A meter with a motorised
 * breaker or relay (registry capability `switch`) also reports `switch`, its state code
 * (core/kinds/codes.ts: 0 on, 1 off, 2 tripped, after the relay bit of DL/T 645-2007 run-status
 * word 3); a meter without one leaves it out.
 */
export const powerMeter = defineKind({
  name: 'power_meter',
  label: { en: 'Power meter', zh: '电表' },
  mainField: 'energy',
  fields: {
    energy: { type: 'float', unit: 'kWh', description: 'cumulative active energy register', min: 0, max: 1e12 },
    power: { type: 'float', unit: 'W', description: 'active power', min: -1e7, max: 1e7 },
    voltage: { type: 'float', unit: 'V', description: 'RMS voltage', min: 0, max: 1_000 },
    current: { type: 'float', unit: 'A', description: 'RMS current', min: 0, max: 10_000 },
    residual_current: { type: 'float', unit: 'mA', description: 'residual (leakage) current', min: 0, max: 100_000 },
    cable_temperature: { type: 'float', unit: '°C', description: 'cable / terminal temperature', min: -40, max: 300 },
    switch: { type: 'float', description: 'breaker / relay state code', codes: switchCodes },
  },
  cumulative: ['energy'],
  reportingIntervalS: 60,
});
