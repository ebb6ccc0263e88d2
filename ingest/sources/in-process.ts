import type { Aedes, AedesPublishPacket } from 'aedes';
import { topics } from '../../core/index.js';
import type { IngestSource, MessageSink } from '../contracts.js';

/**
 * Subscribes inside the embedded broker: no TCP hop, no serialisation. The broker's delivery
 * callback is held until the pipeline has handled the message, so a slow pipeline applies
 * back-pressure to the broker (its `concurrency` slots) instead of growing a queue.
 */
export function createInProcessSource(config: { topics?: readonly string[] } = {}, deps: { aedes: Aedes; clock?: () => number }): IngestSource {
  const filters = config.topics ?? [topics.allTelemetry];
  const clock = deps.clock ?? Date.now;
  let deliver: ((packet: AedesPublishPacket, done: () => void) => void) | undefined;

  const subscribe = (filter: string, fn: typeof deliver & object) =>
    new Promise<void>((resolve) => deps.aedes.subscribe(filter, fn, resolve));
  const unsubscribe = (filter: string, fn: typeof deliver & object) =>
    new Promise<void>((resolve) => deps.aedes.unsubscribe(filter, fn, resolve));

  return {
    name: 'in-process',
    async start(sink: MessageSink) {
      const fn = (packet: AedesPublishPacket, done: () => void) => {
        const payload = Buffer.isBuffer(packet.payload) ? packet.payload : Buffer.from(packet.payload);
        sink({ topic: packet.topic, payload, receivedAt: clock(), source: 'in-process' }).finally(done);
      };
      deliver = fn;
      for (const filter of filters) await subscribe(filter, fn);
    },
    async stop() {
      const fn = deliver;
      if (!fn) return;
      deliver = undefined;
      for (const filter of filters) await unsubscribe(filter, fn);
    },
  };
}
