import type { Logger } from 'pino';
import type { Registry } from 'prom-client';
import type { AnjuBroker } from '../../broker/index.js';
import type { AnjuConfig } from '../../core/config.js';
import {
  anjuTelemetryRoute, createDefaultTopicMapper, createInProcessSource, createMqttClientSource, createPipeline, createRejectLog,
  createTopicMapper, defaultPipelineConfig, type DeviceLookup, type IngestSource, type Pipeline, type ReadingConsumer, type RejectLog,
} from '../../ingest/index.js';
import type { SpoolLog } from '../../storage/index.js';

export interface AssembledIngest {
  readonly pipeline: Pipeline;
  readonly rejects: RejectLog;
  /** Attaches the source to the pipeline: from here on messages are taken (call it before the broker opens). */
  start(): Promise<void>;
  stop(): Promise<void>;
}

/**
 * source ▶ pipeline ▶ consumers: the durable spool first (a reading it cannot take is refused, no
 * PUBACK, never dropped), then the others (latest values, alerts). The source is the embedded
 * broker's publishes when there is one, else a persistent MQTT session on ANJU_MQTT_URL (`anju hub`,
 * required there by `loadConfig`).
 */
export function assembleIngest(
  config: AnjuConfig,
  deps: { devices: DeviceLookup; spool: SpoolLog; consumers?: readonly ReadingConsumer[]; broker?: AnjuBroker; logger: Logger; metrics: Registry },
): AssembledIngest {
  const { broker, logger, metrics } = deps;
  const rejects = createRejectLog({ capacity: 1_000 }, { metrics });
  // The embedded broker's devices follow its ACL (devices/{id}/telemetry); an external broker
  // carries whatever ANJU_MQTT_TOPICS maps (Zigbee2MQTT, Tasmota, SenML), decoded per pattern.
  const topicMapper = broker
    ? createDefaultTopicMapper()
    : createTopicMapper({ routes: config.ingest.topics ?? [anjuTelemetryRoute], codecOptions: config.ingest.codecs });
  const spool = deps.spool;
  const pipeline = createPipeline(
    { ...defaultPipelineConfig, maxPayloadBytes: config.mqtt.maxPayloadBytes },
    {
      devices: deps.devices,
      consumers: [{ name: 'spool', durable: true, accept: (readings) => spool.append(readings) }, ...(deps.consumers ?? [])],
      rejects, logger: logger.child({ part: 'ingest' }), metrics, topics: topicMapper,
    },
  );
  const source: IngestSource = broker
    ? createInProcessSource({}, { broker })
    : createMqttClientSource(
      {
        url: config.ingest.brokerUrl as string, username: config.ingest.username, password: config.ingest.password, clientId: config.ingest.clientId,
        topics: topicMapper.filters, shareGroup: config.ingest.shareGroup,
      },
      { logger: logger.child({ part: 'ingest-source' }) },
    );
  return {
    pipeline,
    rejects,
    start: () => source.start((m) => pipeline.handle(m)),
    stop: () => source.stop(),
  };
}
