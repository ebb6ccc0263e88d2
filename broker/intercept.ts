import { topicMatches } from '../core/topics.js';

/** A client PUBLISH handed to the platform before the broker acknowledges it. */
export interface InterceptedPublish {
  readonly topic: string;
  readonly payload: Buffer;
  readonly qos: 0 | 1 | 2;
  readonly clientId: string;
}

/**
 * Resolves when the message is taken (durable, or refused and dead-lettered); rejects when it must
 * not be acknowledged — the broker then closes the publisher's connection without a PUBACK
 * (MQTT 3.1.1 has no negative acknowledgement, §4.3.2) and the client resends on reconnect.
 */
export type PublishInterceptor = (message: InterceptedPublish) => Promise<void>;

/**
 * "PUBACK means durable": Aedes writes the PUBACK of a QoS 1 PUBLISH only after
 * `authorizePublish` calls back (lib/handlers/publish.js runs authorizePublish, then enqueuePublish),
 * so an interceptor awaited there holds the acknowledgement until ingest has the message on disk.
 */
export function createInterceptors() {
  let current: { filters: readonly string[]; handler: PublishInterceptor } | undefined;
  return {
    set(filters: readonly string[], handler: PublishInterceptor): () => void {
      if (current) throw new Error('a publish interceptor is already installed');
      const entry = { filters, handler };
      current = entry;
      return () => {
        if (current === entry) current = undefined;
      };
    },
    /** Whether an interceptor is installed. */
    installed(): boolean {
      return current !== undefined;
    },
    /** The interceptor for this topic, if any. */
    match(topic: string): PublishInterceptor | undefined {
      return current && current.filters.some((f) => topicMatches(f, topic)) ? current.handler : undefined;
    },
  };
}
