export {
  playScenarios, scenarioInterval,
  type Scenario, type ScenarioFactory, type ScenarioFilter, type ScenarioOptions, type ScenarioOutcome,
} from './contract.js';
export { binFire } from './bin-fire.js';
export { binOverflow } from './bin-overflow.js';
export { callPoint } from './call-point.js';
export { cookingNuisance } from './cooking-nuisance.js';
export { detectorSilent } from './detector-silent.js';
export { electricalLeakage } from './electrical-leakage.js';
export { garbage } from './garbage.js';
export { householdLeak } from './household-leak.js';
export { kitchenFire } from './kitchen-fire.js';
export { lowBattery } from './low-battery.js';
export { overloadedCircuit } from './overloaded-circuit.js';
export { pipeBurst } from './pipe-burst.js';
export { smoulderingFire } from './smouldering-fire.js';
export { parseScenario, scenarioFactories, scenarioFactory, UNIT_MS } from './registry.js';
export { parseOffset, parseScenarioFile, scenarioFileSchema, type ScenarioFileEntry } from './file.js';
export { scenarioReadings, type ReplayOptions, type ScenarioMessage } from './replay.js';
