export * from './kinds/index.js';
export * from './reading.js';
export * from './topics.js';
export * from './registry.js';
export * from './demo/chundu.js';
export * from './alarms.js';
export * from './labels.js';
export * from './ops-metrics.js';
