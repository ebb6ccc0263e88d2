import type { KindSpec } from './define.js';
import { manualCallPoint } from './manual-call-point.js';
import { powerMeter } from './power-meter.js';
import { smartBin } from './smart-bin.js';
import { smokeDetector } from './smoke-detector.js';
import { waterMeter } from './water-meter.js';
import { weatherStation } from './weather-station.js';

export { binCategories, type BinCategory } from './smart-bin.js';
export { codedFields, describeCodes, fieldCodes, stateOfCode, switchCodes, valveCodes, type StateCodes, type SwitchState, type ValveState } from './codes.js';
export type { FieldSpec, FieldValue, KindPayload, KindSpec } from './define.js';
export { manualCallPoint, powerMeter, smartBin, smokeDetector, waterMeter, weatherStation };

/** Every device kind Anju understands, by wire name. Adding a kind is adding a file and a line here. */
export const kinds = {
  smoke_detector: smokeDetector,
  smart_bin: smartBin,
  water_meter: waterMeter,
  power_meter: powerMeter,
  weather_station: weatherStation,
  manual_call_point: manualCallPoint,
} as const satisfies Record<string, KindSpec>;

export type KindName = keyof typeof kinds;
export const kindNames = Object.keys(kinds) as KindName[];

export function isKindName(name: string): name is KindName {
  return Object.prototype.hasOwnProperty.call(kinds, name);
}

export function kindOf(name: KindName): KindSpec<KindName> {
  return kinds[name];
}
