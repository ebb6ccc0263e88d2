import type { Client, PublishPacket } from 'aedes';
import type { Logger } from 'pino';
import { topicMatches, topics } from '../core/topics.js';
import type { createInterceptors } from './intercept.js';
import type { BrokerMetrics, PublishRefusalReason } from './metrics.js';

/**
 * Admission: whether the broker may take a publish at all, and who must take it before the PUBACK.
 *
 * The promise is "a PUBACK means the reading is stored", at every moment. So a publish on an
 * ingest topic is acknowledged only once something durable has it, and refused otherwise — closed
 * without PUBACK, which is all MQTT 3.1.1 offers (§3.3.5: "MUST either make a positive
 * acknowledgement ... or close the Network Connection"); the client resends it on reconnect:
 * - while the broker is starting (before `open()`: no listener exists yet) or stopping (after
 *   `close()` began), every CONNECT is answered with return code 3 "server unavailable" and every
 *   PUBLISH refused;
 * - `interceptor` delivery (roles `all`): ingest runs in this process and takes each message
 *   before the PUBACK (intercept.ts). No interceptor installed — not yet, or no longer — is a
 *   refusal, never an acknowledgement; so is an interceptor that rejects or throws;
 * - command replies (`devices/+/replies`, every role) go to the command dispatcher the same way
 *   (`replies` below): taken before the PUBACK, refused while no dispatcher is attached;
 * - `subscribers` delivery (role `broker`, ingest in a hub over MQTT): Aedes queues a QoS ≥ 1
 *   message for every persistent session subscribed to it (§3.1.2.4), so a message is accepted only
 *   when at least one such session exists. Before the hub first subscribed, nothing would keep it.
 */

export type IngestDelivery =
  | { readonly via: 'interceptor'; readonly topics: readonly string[] }
  | { readonly via: 'subscribers'; readonly topics: readonly string[] };

/** Anju's own devices, ingested in-process: the `all` role. */
export const defaultIngestDelivery: IngestDelivery = { via: 'interceptor', topics: [topics.allTelemetry] };

type State = 'starting' | 'open' | 'closing';

/** What admission needs of Aedes's persistence: persistent sessions' QoS > 0 subscriptions. */
export interface SubscriptionLookup {
  subscriptionsByTopic(topic: string): Promise<ReadonlyArray<{ qos: number; clientId: string }>>;
}

export interface Admission {
  /** Open and, with interceptor delivery, an interceptor attached: CONNECTs are accepted. */
  ready(): boolean;
  /** Starts taking connections and publishes (the listeners are about to open). */
  open(): void;
  /** Stops taking anything; resolves once every publish in flight was taken or refused, or after `timeoutMs`. */
  drain(timeoutMs: number): Promise<void>;
  /** The end of authorizePublish, after the ACL: hands the publish on, or refuses it. */
  admit(client: Client | null, packet: PublishPacket, done: (err: Error | null) => void): void;
}

export function createAdmission(
  config: { ingest: IngestDelivery },
  deps: {
    interceptors: ReturnType<typeof createInterceptors>;
    /** Who takes command replies (`devices/+/replies`) before their PUBACK: the command dispatcher. */
    replies: ReturnType<typeof createInterceptors>;
    subscriptions: () => SubscriptionLookup;
    metrics: BrokerMetrics;
    logger: Logger;
  },
): Admission {
  const { ingest } = config;
  const { interceptors, metrics, logger } = deps;
  let state: State = 'starting';
  /** Publishes handed on and not answered yet; `drain` waits for them. */
  let inFlight = 0;
  let drained: (() => void) | undefined;
  const settle = () => {
    inFlight -= 1;
    if (inFlight === 0) drained?.();
  };

  const needsIngest = (topic: string) => ingest.topics.some((f) => topicMatches(f, topic));

  function refuse(client: Client | null, packet: PublishPacket, reason: PublishRefusalReason, why: string, done: (err: Error | null) => void): void {
    metrics.publishesRefused.inc({ reason });
    // A Will refused here is dropped silently by Aedes (lib/client.js close()): nobody to tell.
    logger.warn({ clientId: client?.id, topic: packet.topic, reason, why }, 'publish refused, closing without PUBACK; the client will resend');
    done(new Error(why));
  }

  /**
   * Publishes waiting on one promise — ingest answers every message of a spool group commit with the
   * same one — answered together: one continuation per group, not two closures and a promise per
   * message (thousands wait on an fsync at once at saturation; bench:ratio --alloc-profile).
   */
  interface Waiting {
    readonly taken: Promise<unknown>;
    readonly reason: PublishRefusalReason;
    readonly clients: Client[];
    readonly packets: PublishPacket[];
    readonly dones: Array<(err: Error | null) => void>;
  }
  /** The group new publishes join while ingest answers them with its promise. */
  let waiting: Waiting | undefined;

  function answered(w: Waiting, err: unknown, ok: boolean): void {
    if (waiting === w) waiting = undefined;
    const why = ok ? '' : err instanceof Error ? err.message : String(err);
    for (let i = 0; i < w.dones.length; i += 1) {
      // One publish's answer failing (a bug in a callback) must not leave the rest unanswered.
      try {
        if (ok) w.dones[i]!(null);
        else refuse(w.clients[i]!, w.packets[i]!, w.reason, why, w.dones[i]!);
      } catch (e) {
        logger.error({ err: e, clientId: w.clients[i]!.id }, 'answering a publish failed');
      } finally {
        settle();
      }
    }
  }

  /** Answers Aedes once `taken` settles: PUBACK when taken, refusal for `reason` otherwise; counted in flight until then. */
  function answer(taken: Promise<unknown>, client: Client, packet: PublishPacket, done: (err: Error | null) => void, reason: PublishRefusalReason): void {
    inFlight += 1;
    let w = waiting;
    if (w?.taken !== taken || w.reason !== reason) {
      const fresh: Waiting = { taken, reason, clients: [], packets: [], dones: [] };
      taken.then(() => answered(fresh, undefined, true), (err: unknown) => answered(fresh, err, false));
      waiting = w = fresh;
    }
    w.clients.push(client);
    w.packets.push(packet);
    w.dones.push(done);
  }

  function intercept(client: Client, packet: PublishPacket, done: (err: Error | null) => void, slot = interceptors): void {
    // The hot path: one topic match finds the interceptor; only a miss asks whether one was needed.
    const handler = slot.match(packet.topic);
    if (!handler) {
      if (needsIngest(packet.topic)) refuse(client, packet, 'unavailable', 'ingest is not attached', done);
      else done(null);
      return;
    }
    const payload = Buffer.isBuffer(packet.payload) ? packet.payload : Buffer.from(packet.payload);
    let taken: Promise<void>;
    try {
      taken = handler({ topic: packet.topic, payload, qos: packet.qos, clientId: client.id });
    } catch (err) {
      // A handler that throws instead of rejecting is a refusal as well, never an escape into Aedes.
      taken = Promise.reject(err);
    }
    answer(taken, client, packet, done, 'ingest_refused');
  }

  function toSubscribers(client: Client, packet: PublishPacket, done: (err: Error | null) => void): void {
    if (!needsIngest(packet.topic)) {
      done(null);
      return;
    }
    const lookup = deps.subscriptions().subscriptionsByTopic(packet.topic).then((subs) => {
      if (!subs.some((s) => s.qos > 0)) throw new Error('no ingest subscription would receive it');
    });
    answer(lookup, client, packet, done, 'unavailable');
  }

  return {
    ready: () => state === 'open' && (ingest.via !== 'interceptor' || ingest.topics.length === 0 || interceptors.installed()),
    open() {
      if (state === 'starting') state = 'open';
    },
    async drain(timeoutMs) {
      state = 'closing';
      if (inFlight === 0) return;
      let timer: NodeJS.Timeout | undefined;
      await new Promise<void>((resolve) => {
        drained = resolve;
        timer = setTimeout(() => {
          logger.warn({ inFlight, timeoutMs }, 'publishes still in flight at shutdown; they were not acknowledged');
          resolve();
        }, timeoutMs);
        timer.unref();
      });
      clearTimeout(timer);
    },
    admit(client, packet, done) {
      if (state !== 'open' && (client === null || client.closed)) {
        // The Will of a connection the broker itself is closing (shutdown): dropped, as the
        // broker's own presence is, without a warning per device.
        done(new Error('broker is stopping'));
        return;
      }
      if (state !== 'open') {
        refuse(client, packet, 'unavailable', state === 'starting' ? 'broker is starting' : 'broker is stopping', done);
        return;
      }
      // No client: a persisted Will of a connection that is gone (acl.ts admits only status ones).
      if (!client) {
        done(null);
        return;
      }
      // A command reply is the dispatcher's, in every role: acknowledged once it is recorded,
      // refused (the device resends) while no dispatcher is attached — never acknowledged and lost.
      if (topicMatches(topics.allReplies, packet.topic)) {
        if (deps.replies.installed()) intercept(client, packet, done, deps.replies);
        else refuse(client, packet, 'unavailable', 'no command dispatcher is attached', done);
        return;
      }
      if (ingest.via === 'interceptor') intercept(client, packet, done);
      else toSubscribers(client, packet, done);
    },
  };
}
