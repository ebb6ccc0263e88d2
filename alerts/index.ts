export * from './contracts.js';
export { defaultAlertEngineConfig, parseRulesConfig, rulesConfigSchema, type AlertEngineConfig, type RulesConfig, type RulesConfigInput } from './config.js';
export { createAlertEngine, type AlarmListener, type AlertEngine, type AlertEngineDeps } from './engine.js';
export { builtinRules, type BuiltinRuleName } from './rules/index.js';
export { connectivityOf, type Connectivity } from './connectivity.js';
