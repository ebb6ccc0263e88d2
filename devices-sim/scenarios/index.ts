import type { Scenario, ScenarioFactory } from './contract.js';
import { kitchenFire } from './kitchen-fire.js';

export type { Scenario, ScenarioFactory } from './contract.js';
export { kitchenFire } from './kitchen-fire.js';

/** Scenario kinds by name, as written on the command line (`fire:b3@+2m`). */
export const scenarioFactories: Readonly<Record<string, ScenarioFactory>> = {
  fire: kitchenFire,
};

const UNIT_MS: Record<string, number> = { s: 1_000, m: 60_000, h: 3_600_000 };

/**
 * Parses `kind:target@+offset` (offset like `30s`, `2m`, `1h`; default `+0s`) relative to `now`.
 * Throws a message naming the known kinds when the spec cannot be read.
 */
export function parseScenario(spec: string, now: number): Scenario {
  const m = /^([a-z_-]+):([A-Za-z0-9_.-]+)(?:@\+(\d+(?:\.\d+)?)([smh]))?$/.exec(spec);
  if (!m) throw new Error(`cannot read scenario "${spec}": write kind:target@+offset, e.g. fire:b3@+2m`);
  const [, kind, target, amount, unit] = m as unknown as [string, string, string, string | undefined, string | undefined];
  const factory = scenarioFactories[kind];
  if (!factory) throw new Error(`unknown scenario kind "${kind}"; known: ${Object.keys(scenarioFactories).join(', ')}`);
  const offset = amount && unit ? Number(amount) * (UNIT_MS[unit] ?? 0) : 0;
  return factory(target, now + offset);
}
