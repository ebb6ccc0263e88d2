import { topics } from '../../core/index.js';
import type { IngestSource, MessageSink } from '../contracts.js';

/** What the in-process source needs of the embedded broker (structural: ingest does not import broker/). */
export interface PublishHook {
  interceptPublish(
    filters: readonly string[],
    handler: (message: { topic: string; payload: Buffer; qos: number; clientId: string }) => Promise<void>,
  ): () => void;
}

/**
 * Ingest inside the embedded broker: no TCP hop, no serialisation, and at-least-once end to end.
 * The broker hands each telemetry PUBLISH to the pipeline before it acknowledges it, so the QoS 1
 * PUBACK goes out only once the reading is durable (or refused and dead-lettered). When the
 * pipeline cannot take a message (spool quota full), the sink rejects and the broker closes the
 * publisher's connection without a PUBACK; the device resends it after reconnecting.
 */
export function createInProcessSource(config: { topics?: readonly string[] } = {}, deps: { broker: PublishHook; clock?: () => number }): IngestSource {
  const filters = config.topics ?? [topics.allTelemetry];
  const clock = deps.clock ?? Date.now;
  let remove: (() => void) | undefined;

  return {
    name: 'in-process',
    async start(sink: MessageSink) {
      remove = deps.broker.interceptPublish(filters, (m) => sink({ topic: m.topic, payload: m.payload, receivedAt: clock(), source: 'in-process' }));
    },
    async stop() {
      remove?.();
      remove = undefined;
    },
  };
}
