import type { Rule } from '../contracts.js';
import { batteryRule } from './battery.js';
import { binFillRule } from './bin-fill.js';
import { binFireRule } from './bin-fire.js';
import { binPositionRule } from './bin-position.js';
import { binTimeToFullRule } from './bin-time-to-full.js';
import { cableTemperatureRule } from './cable-temperature.js';
import { coRule } from './co.js';
import { fireRiskRule } from './fire-risk.js';
import { heatFixedRule } from './heat-fixed.js';
import { heatRateOfRiseRule } from './heat-rate-of-rise.js';
import { manualCallRule } from './manual-call.js';
import { offlineRule } from './offline.js';
import { overcurrentRule } from './overcurrent.js';
import { residualCurrentRule } from './residual-current.js';
import { smokeRule } from './smoke.js';
import { waterBalanceRule } from './water-balance.js';
import { waterBurstRule } from './water-burst.js';
import { waterLeakRule } from './water-leak.js';

/**
 * Every rule, by name (the key in rule config overrides and in rule-state keys). The order is the
 * evaluation order within one reading, so events of one instant come out in a fixed order.
 * Adding a rule is adding a file and a line here.
 */
export const builtinRules = {
  smoke: smokeRule,
  heat: heatFixedRule,
  heat_rise: heatRateOfRiseRule,
  co: coRule,
  manual_call: manualCallRule,
  fire_risk: fireRiskRule,
  residual_current: residualCurrentRule,
  overcurrent: overcurrentRule,
  cable_temperature: cableTemperatureRule,
  bin_fill: binFillRule,
  bin_time_to_full: binTimeToFullRule,
  bin_fire: binFireRule,
  bin_position: binPositionRule,
  water_leak: waterLeakRule,
  water_burst: waterBurstRule,
  water_balance: waterBalanceRule,
  offline: offlineRule,
  battery: batteryRule,
} as const satisfies Record<string, Rule>;

export type BuiltinRuleName = keyof typeof builtinRules;
