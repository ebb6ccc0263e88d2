export { createFleet, type Fleet, type FleetConfig, type FleetDeps, type FleetStats } from './fleet.js';
export { createRng, deviceRng, hashSeed, type Rng, type SeedPart } from './random.js';
export * from './kinds/index.js';
export { kitchenFire, parseScenario, scenarioFactories, type Scenario, type ScenarioFactory } from './scenarios/index.js';
