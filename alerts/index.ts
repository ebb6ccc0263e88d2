export * from './contracts.js';
export { defaultAlertEngineConfig, parseRulesConfig, rulesConfigSchema, type AlertEngineConfig, type RulesConfig, type RulesConfigInput } from './config.js';
export { createAlertEngine, type AlarmListener, type AlertEngine, type AlertEngineDeps } from './engine.js';
export { builtinRules, type BuiltinRuleName } from './rules/index.js';
export { connectivityOf, type Connectivity } from './connectivity.js';
// For the API: the wire JSON of alarms and incidents (REST, SSE) and the Chinese alarm names.
export {
  alarmSummaryToJson, alarmToJson, alarmTypeZh, eventToJson, incidentEventToJson, incidentSummaryToJson, incidentToJson,
} from './notifiers/index.js';
export type { Incidents } from './incidents/manager.js';
