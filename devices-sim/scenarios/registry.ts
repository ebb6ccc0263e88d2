import { binFire } from './bin-fire.js';
import { binOverflow } from './bin-overflow.js';
import { callPoint } from './call-point.js';
import type { Scenario, ScenarioFactory, ScenarioOptions } from './contract.js';
import { cookingNuisance } from './cooking-nuisance.js';
import { detectorSilent } from './detector-silent.js';
import { electricalLeakage } from './electrical-leakage.js';
import { garbage } from './garbage.js';
import { householdLeak } from './household-leak.js';
import { kitchenFire } from './kitchen-fire.js';
import { lowBattery } from './low-battery.js';
import { overloadedCircuit } from './overloaded-circuit.js';
import { pipeBurst } from './pipe-burst.js';
import { smoulderingFire } from './smouldering-fire.js';

/** Scenario kinds by name, as written on the command line (`fire:b3@+2m`) and in scenario files. */
export const scenarioFactories: Readonly<Record<string, ScenarioFactory>> = {
  fire: kitchenFire,
  'smouldering-fire': smoulderingFire,
  'cooking-nuisance': cookingNuisance,
  'electrical-leakage': electricalLeakage,
  'overloaded-circuit': overloadedCircuit,
  'bin-overflow': binOverflow,
  'bin-fire': binFire,
  'household-leak': householdLeak,
  'pipe-burst': pipeBurst,
  'detector-silent': detectorSilent,
  'low-battery': lowBattery,
  garbage,
  'call-point': callPoint,
};

export const UNIT_MS: Readonly<Record<string, number>> = { s: 1_000, m: 60_000, h: 3_600_000, d: 86_400_000 };

/** The factory of a scenario kind, or an error naming the known kinds. */
export function scenarioFactory(kind: string): ScenarioFactory {
  const factory = Object.prototype.hasOwnProperty.call(scenarioFactories, kind) ? scenarioFactories[kind] : undefined;
  if (!factory) throw new Error(`unknown scenario kind "${kind}"; known: ${Object.keys(scenarioFactories).join(', ')}`);
  return factory;
}

/**
 * Parses `kind:target@+offset` (offset like `30s`, `2m`, `1h`, `1d`; default `+0s`) relative to
 * `now`. Throws a message naming the known kinds when the spec cannot be read.
 */
export function parseScenario(spec: string, now: number, options?: ScenarioOptions): Scenario {
  const m = /^([a-z_-]+):([A-Za-z0-9_.-]+)(?:@\+(\d+(?:\.\d+)?)([smhd]))?$/.exec(spec);
  if (!m) throw new Error(`cannot read scenario "${spec}": write kind:target@+offset, e.g. fire:b3@+2m`);
  const [, kind, target, amount, unit] = m as unknown as [string, string, string, string | undefined, string | undefined];
  const factory = scenarioFactory(kind);
  const offset = amount && unit ? Number(amount) * (UNIT_MS[unit] ?? 0) : 0;
  return factory(target, now + offset, options);
}
