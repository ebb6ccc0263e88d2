export * from './contracts.js';
export { codecs } from './codecs/index.js';
export { createDeduper } from './dedupe.js';
export { createPipeline, defaultPipelineConfig, type Pipeline, type PipelineConfig } from './pipeline.js';
export { createRejectLog } from './rejects.js';
export { createInProcessSource } from './sources/in-process.js';
export { createMqttClientSource, type MqttClientSourceConfig } from './sources/mqtt-client.js';
