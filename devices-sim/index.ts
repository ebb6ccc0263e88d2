export { createFleet, type Fleet, type FleetConfig, type FleetDeps, type FleetStats } from './fleet.js';
export { createCommunity, parseRegistry, type CommunityConfig, type Registry } from './community.js';
export { createRng, deviceRng, hashSeed, type Rng, type SeedPart } from './random.js';
export * from './kinds/index.js';
export * from './scenarios/index.js';
export { DEFAULT_BACKFILL_STEP_MS, runBackfill, type BackfillConfig, type BackfillDeps, type BackfillResult } from './backfill.js';
export { parseRetrofits, retrofitApplies, retrofitPresets, retrofitSteps, type Retrofit, type RetrofitPreset } from './retrofit.js';
