export * from './contracts.js';
export { codecFactories, codecNames, codecs, createCodecs, isCodecName, type Codec, type CodecName, type CodecOptions, type DecodeContext, type DecodeResult } from './codecs/index.js';
export { createDeduper } from './dedupe.js';
export { createPipeline, defaultPipelineConfig, type Pipeline, type PipelineConfig } from './pipeline.js';
export { createRejectLog } from './rejects.js';
export { createInProcessSource } from './sources/in-process.js';
export { createMqttClientSource, isValidShareGroup, type MqttClientSourceConfig } from './sources/mqtt-client.js';
export { anjuTelemetryRoute, compilePattern, createDefaultTopicMapper, createTopicMapper, type TopicMapper, type TopicMatch, type TopicRoute } from './topic-map.js';
