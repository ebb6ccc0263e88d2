import { randomUUID } from 'node:crypto';
import type { EventEmitter } from 'node:events';
import type { SecureContextOptions } from 'node:tls';
import { Aedes } from 'aedes';
import type { AedesPublishPacket, Client, PublishPacket, PubrelPacket } from 'aedes';
import type { BrokerBackplane } from './backplane.js';
import type { Logger } from 'pino';
import type { Registry } from 'prom-client';
import { createAcl } from './acl.js';
import { createCommandAudience, type CommandSubscribeListener } from './command-audience.js';
import { createAdmission, defaultIngestDelivery, type IngestDelivery, type SubscriptionLookup } from './admission.js';
import { CLIENT_ID_SEPARATOR, createAuthenticate } from './authenticate.js';
import type { Will } from './authenticate.js';
import { createCredentialGate, defaultCredentialConcurrency } from './credential-gate.js';
import type { BrokerPolicy } from './contracts.js';
import { guardFrames } from './frame-guard.js';
import { createInterceptors, type PublishInterceptor } from './intercept.js';
import { KeyedTokenBuckets } from '../core/rate-limit.js';
import { topics } from '../core/topics.js';
import { connectionLimits, createRateLimitPreConnect } from './limits.js';
import { clientCertificateOf } from './client-certificate.js';
import { listenTcp, listenWebSocket, tlsServerOptions } from './listeners.js';
import type { Listener } from './listeners.js';
import { createBrokerMetrics } from './metrics.js';
import { createPresence, type PresenceListener } from './presence.js';
import { principalName, principalOf } from './principal.js';

/**
 * The embedded broker: Aedes with our policy injected as its hooks, behind a TCP and a WebSocket
 * listener. This file only wires; each concern lives in its own module:
 *   admission.ts    — nothing acknowledged before ingest has it: start-up, shutdown, no ingest
 *   authenticate.ts — who may connect (CONNACK codes), client-id namespaces, Will check
 *   acl.ts          — who may publish/subscribe where
 *   presence.ts     — retained online/offline status
 *   limits.ts       — connect rate, keepalive/connect/drain timeouts
 *   frame-guard.ts  — maximum packet size and UTF-8 strings, checked before Aedes parses a packet
 *   listeners.ts    — TCP and WebSocket transports, plain and over TLS
 *   client-certificate.ts — a TLS client certificate as a device's identity
 *
 * Two phases: `createBroker` builds everything but opens no socket; `open()` listens once the
 * whole path behind the broker is attached (the composition root calls it last), and `close()`
 * first stops admitting, lets what is in flight finish, then disconnects everyone.
 */

export interface BrokerConfig {
  host: string;
  /** MQTT over TCP; 0 = ephemeral. */
  port: number;
  /** MQTT over WebSocket; 0 = ephemeral. */
  wsPort: number;
  /** Largest Remaining Length (§2.2.3) accepted from a client. */
  maxFrameBytes: number;
  /** CONNECTs per remote IP per minute (burst of the same size). Non-positive disables. */
  connectRatePerMinute: number;
  /** How long a subscriber's socket may stay unwritable before it is disconnected. */
  drainTimeoutMs: number;
  /** Who takes telemetry before it is acknowledged (admission.ts); default: the in-process interceptor on `devices/+/telemetry`. */
  ingest?: IngestDelivery;
  /** False: no plaintext listener (`port` and `wsPort` unused), TLS only. Default true. */
  plaintext?: boolean;
  /** MQTT over TLS and over secure WebSocket, beside or instead of the plaintext listeners. */
  tls?: BrokerTlsConfig;
  /** Cluster mode: Aedes's heartbeat between nodes (default Aedes's 60 s); a dead node's Wills follow within 4. */
  heartbeatMs?: number;
  /** Credential checks (scrypt) run at once; the others wait in turn (credential-gate.ts). Default: one per core, at most 4. */
  credentialConcurrency?: number;
}

export interface BrokerTlsConfig {
  /** MQTT over TLS (8883); 0 = ephemeral. */
  port: number;
  /** MQTT over secure WebSocket (8084); 0 = ephemeral. */
  wsPort: number;
  /** Certificate, key and (for client certificates) the CA, as PEM. */
  context: SecureContextOptions;
  /**
   * Device client certificates: `none` (not asked for), `optional` (asked for; a verified one
   * authenticates the device named by its CN, a device without one uses its password), `required`
   * (the handshake fails without a certificate from the CA).
   */
  clientCerts: 'none' | 'optional' | 'required';
}

export interface BrokerDeps {
  policy: BrokerPolicy;
  /** Cluster mode: Aedes's emitter and persistence shared with the other nodes (backplane.ts); default in memory. */
  backplane?: Pick<BrokerBackplane, 'mq' | 'persistence' | 'emitLocal' | 'claimOnce' | 'unclaim'>;
  logger: Logger;
  metrics: Registry;
}

/** A message the platform itself publishes (alarm events, commands): delivered to subscribers as any other. */
export interface BrokerMessage {
  readonly topic: string;
  readonly payload: Buffer | string;
  readonly qos: 0 | 1;
  readonly retain: boolean;
}

export interface AnjuBroker {
  /**
   * Publishes on behalf of the platform, past the ACL (it is no client's publish) and past ingest:
   * resolves once Aedes has handed the message to its subscribers' queues.
   */
  publish(message: BrokerMessage): Promise<void>;
  /**
   * Hands a QoS 1 message to this node's subscribers only — never to the other nodes — for what every
   * node publishes itself from one shared, ordered log (a cluster's alarm events, which each node
   * reads from PostgreSQL): Redis pub/sub drops what is published while another node is reconnecting,
   * the log does not. `identity` makes every node's copy one message: Aedes forwards a (brokerId,
   * brokerCounter) to a client only while the counter increases (its dedupe), so calls must come in
   * counter order, and they are emitted in call order whatever else waits. Persistent sessions
   * subscribed to it get it queued as by Aedes's own publish (its enqueueOffline): on a shared
   * backplane once cluster-wide (the first node to claim the identity in Redis; the others skip), on a
   * node's own persistence always and before the emit (Aedes's in-memory persistence refuses to update
   * a message it never queued). A persistent session that takes a copy live on one node while another
   * queues it may get it again on its next connection: at least once, as QoS 1 promises.
   */
  publishLocal(message: { topic: string; payload: Buffer | string }, identity: { brokerId: string; counter: number }): Promise<void>;
  /** This broker's id (Aedes's, in `$SYS/<id>/…`): with a backplane, the node's id in the cluster. */
  readonly id: string;
  /**
   * Cluster mode: the ids of the brokers heard from (a heartbeat or their birth) within 3
   * heartbeats, this one included; undefined without a backplane.
   */
  liveNodeIds(): string[] | undefined;
  /** True once `close()` has closed Aedes (for /health). */
  readonly closed: boolean;
  /** The listening ports, once `open()` resolved (0 before, and for a listener switched off). */
  readonly tcpPort: number;
  readonly wsPort: number;
  readonly tlsPort: number;
  readonly wssPort: number;
  /**
   * A new certificate (and CA) for TLS handshakes from now on; connections already up keep theirs
   * and stay connected. Nothing to do without TLS.
   */
  setSecureContext(context: SecureContextOptions): void;
  /**
   * Opens the TCP and WebSocket listeners. Call it once everything a publish needs is attached
   * (ingest, spool, store, latest cache, alerts): before that no socket accepts a connection.
   */
  open(): Promise<void>;
  /** Distinct devices with at least one live connection. */
  connectedDevices(): number;
  /**
   * Hands client PUBLISHes on matching topics to `handler` after the ACL passed and before the
   * PUBACK; see intercept.ts. One interceptor at a time; returns its remover.
   */
  interceptPublish(filters: readonly string[], handler: PublishInterceptor): () => void;
  /** Hands device replies (`devices/+/replies`) to `handler` before the PUBACK, as `interceptPublish`; one at a time. */
  interceptReplies(handler: PublishInterceptor): () => void;
  /**
   * Told when a client acknowledged (PUBACK) a QoS 1 message the broker delivered to it: a command
   * reached its device. Persistent sessions only (clean session = 0): Aedes keeps no record of what it
   * sent a clean session, so there is nothing to match the PUBACK with.
   */
  onDelivered(listener: DeliveryListener): () => void;
  /** Whether a publish on a device's command topic reaches that device now or, held in its persistent session, later (command-audience.ts). */
  reachesDevice(topic: string): Promise<boolean>;
  /** Told when a device subscribes to its commands: the moment to publish what was held for it. */
  onCommandSubscribe(listener: CommandSubscribeListener): () => void;
  /** Told every presence change the broker publishes (the alerts engine's offline rule). */
  onPresence(listener: PresenceListener): () => void;
  /**
   * Cluster mode: told when a registered device connects on another node (Aedes's
   * `$SYS/<broker>/new/clients`): its rules' time-driven checks belong to that node from then on.
   * Never called without a backplane.
   */
  onDeviceElsewhere(listener: (deviceId: string, ts: number) => void): () => void;
  /** Closes every connection of a principal (e.g. its account was deleted or its secret rotated); returns how many. */
  disconnect(principal: { kind: 'device' | 'service'; name: string }): number;
  /**
   * Stops admitting (CONNACK 3, publishes refused), waits for the publishes in flight to be taken
   * or refused, then closes the listeners, disconnects every client and closes Aedes. Idempotent.
   */
  close(): Promise<void>;
}

/**
 * A QoS 1 message a client with a persistent session acknowledged: the topic and payload it was
 * sent, the client id, and the device id when a device acknowledged it.
 */
export type DeliveryListener = (delivered: { topic: string; payload: Buffer; clientId: string; deviceId?: string }) => void;

/** Upper bound on shutdown: Aedes waits for each client's close, which persistence may delay. */
const CLOSE_TIMEOUT_MS = 5_000;
const RATE_SWEEP_INTERVAL_MS = 60_000;

export async function createBroker(config: BrokerConfig, deps: BrokerDeps): Promise<AnjuBroker> {
  // The certificate in force: replaced by setSecureContext, used by listeners opened after.
  let tlsContext = config.tls?.context;
  const logger = deps.logger.child({ component: 'broker' });
  const metrics = createBrokerMetrics(deps.metrics);
  const acl = createAcl({ metrics, logger });

  // Aedes gives authenticate() the username and password but not the Will; preConnect sees the
  // whole CONNECT, so it remembers the Will for the ACL check in authenticate().
  const wills = new WeakMap<Client, NonNullable<Will>>();
  const limiter = new KeyedTokenBuckets(config.connectRatePerMinute);
  const rateLimit = createRateLimitPreConnect(limiter, (ip, clientId) => {
    metrics.connectionsRefused.inc({ reason: 'rate_limit' });
    // client.id is not set before preConnect; the CONNECT's own client id is what we have.
    logger.warn({ ip, clientId }, 'connection refused: rate limit');
  });
  // Registered connections by client id, for the takeover check in authenticate().
  const byClientId = new Map<string, Client>();
  const authenticate = createAuthenticate({
    policy: deps.policy,
    metrics,
    logger,
    willOf: (client) => wills.get(client),
    holderOf: (clientId) => principalOf(byClientId.get(clientId)),
    ready: () => admission.ready(),
    gate: createCredentialGate({
      concurrency: config.credentialConcurrency ?? defaultCredentialConcurrency,
      onWaiting: (n) => metrics.credentialChecksWaiting.set(n),
    }),
    clientCertificate: config.tls && config.tls.clientCerts !== 'none' ? clientCertificateOf : undefined,
  });

  const interceptors = createInterceptors();
  const replies = createInterceptors();
  const admission = createAdmission(
    { ingest: config.ingest ?? defaultIngestDelivery },
    // Aedes's persistence is typed loosely; it answers subscriptionsByTopic with the stored subscriptions.
    { interceptors, replies, subscriptions: () => (aedes as unknown as { persistence: SubscriptionLookup }).persistence, metrics, logger },
  );

  // Cluster mode: client ids that connected on another node (Aedes's `$SYS/<broker>/new/clients`, which
  // also makes Aedes close our connection with that id). Listened to before Aedes listens, so it is
  // known here before that close is reported; consumed by the disconnect it explains.
  const brokerId = `anju-${randomUUID()}`;
  const takenElsewhere = new Map<string, number>();
  /**
   * Cluster mode: the node each client id last connected on (every node's `new/clients`, this one's
   * too), newest last; bounded, the least recently connected forgotten first. A dead node's stored Will
   * for a client id that has connected on a live node since is stale: that device is not offline.
   */
  const lastConnectedOn = new Map<string, string>();
  const LAST_CONNECTED_MAX = 200_000;
  const elsewhereListeners = new Set<(deviceId: string, ts: number) => void>();
  // Aedes's live-broker map, filled by heartbeats only; see the birth listener below.
  const AEDES_HEARTBEAT_MS = 60_000; // Aedes's default heartbeatInterval
  const aedesBrokers: { alive?: Record<string, number> } = {};
  if (deps.backplane) {
    // A node's first heartbeat comes one interval after it starts, and until then Aedes elsewhere
    // takes it for dead: a Will sweep in that window would publish the Wills of devices connected to
    // it, alive (a rolling restart: every device reconnecting at once). Its birth message, sent when
    // it starts listening, counts as its first heartbeat.
    deps.backplane.mq.on('$SYS/+/birth', (message, done) => {
      const id = String(message.payload ?? '');
      if (id && id !== brokerId && aedesBrokers.alive) aedesBrokers.alive[id] = Date.now();
      done();
    });
    deps.backplane.mq.on('$SYS/+/new/clients', (message, done) => {
      const from = message.topic.split('/')[1];
      const clientId = String(message.payload ?? '');
      if (from && clientId) {
        lastConnectedOn.delete(clientId);
        lastConnectedOn.set(clientId, from);
        if (lastConnectedOn.size > LAST_CONNECTED_MAX) lastConnectedOn.delete(lastConnectedOn.keys().next().value as string);
      }
      if (from !== brokerId) {
        const now = Date.now();
        // Bounded: an entry no disconnect consumed (the id was not connected here) lapses after a minute.
        if (takenElsewhere.size > 10_000) for (const [id, at] of takenElsewhere) if (now - at > 60_000) takenElsewhere.delete(id);
        takenElsewhere.set(clientId, now);
        // A device's client id is its id, or its id and a suffix (authenticate.ts clientIdAllowed).
        const deviceId = clientId.split(CLIENT_ID_SEPARATOR)[0] ?? clientId;
        if (elsewhereListeners.size > 0) {
          void Promise.resolve(deps.policy.deviceRegistered?.(deviceId) ?? true).then((registered) => {
            if (!registered) return;
            for (const listener of elsewhereListeners) {
              try {
                listener(deviceId, now);
              } catch (err) {
                logger.error({ err, deviceId }, 'device-elsewhere listener failed');
              }
            }
          }, (err: unknown) => logger.warn({ err, deviceId }, 'registry lookup failed for a device connected elsewhere'));
        }
      }
      done();
    });
  }

  /** Whether the client of a dead node's Will has connected on another node since, one that is alive. */
  function connectedOnLiveNodeSince(will: PublishPacket): boolean {
    const { clientId, brokerId: willBroker } = will as PublishPacket & { clientId?: string; brokerId?: string };
    const on = clientId === undefined ? undefined : lastConnectedOn.get(clientId);
    if (on === undefined || on === willBroker) return false;
    const beat = aedesBrokers.alive?.[on];
    return on === brokerId || (beat !== undefined && beat + 3 * (config.heartbeatMs ?? AEDES_HEARTBEAT_MS) >= Date.now());
  }

  // Constructed, not createBroker()'d: presence needs the instance and the hooks need presence.
  const aedes = new Aedes({
    id: brokerId,
    ...(config.heartbeatMs ? { heartbeatInterval: config.heartbeatMs } : {}),
    ...connectionLimits(config),
    ...(deps.backplane ? { mq: deps.backplane.mq, persistence: deps.backplane.persistence } : {}),
    preConnect(client, packet, done) {
      if (packet.will) wills.set(client, packet.will);
      rateLimit(client, packet, done);
    },
    authenticate,
    authorizePublish(client, packet, done) {
      const denied = acl.checkPublish(client, packet);
      if (denied) return done(denied);
      // Cluster mode: the Will of a device whose node died, published by this node (no client). Not an
      // `offline` when the device has connected on a live node since (it moved before its node died):
      // Aedes publishes the Will all the same, and that node answers it with `online` (observeRemote).
      if (client === null && !connectedOnLiveNodeSince(packet)) presence.orphanWill(packet);
      // Refusing a Will is silent: Aedes just drops it (lib/client.js close()).
      if (presence.suppressWill(client, packet)) return done(new Error('will suppressed: device still connected'));
      admission.admit(client, packet, done);
    },
    authorizeSubscribe: acl.authorizeSubscribe,
    authorizeForward: acl.authorizeForward,
  });
  aedesBrokers.alive = (aedes as unknown as { brokers: Record<string, number> }).brokers;
  const presenceListeners = new Set<PresenceListener>();
  const presence = createPresence(aedes, logger, (deviceId, status, ts, cause) => {
    for (const listener of presenceListeners) listener(deviceId, status, ts, cause);
  });

  const live = new Set<Client>();
  const keepaliveExpired = new WeakSet<Client>();
  aedes.on('client', (client) => {
    const principal = principalOf(client);
    if (!principal) return; // cannot happen: Aedes registers only authenticated clients
    live.add(client);
    byClientId.set(client.id, client);
    takenElsewhere.delete(client.id);
    metrics.connectedClients.inc({ type: principal.kind });
    if (principal.kind === 'device') presence.connected(client, principal.deviceId);
  });
  aedes.on('clientDisconnect', (client) => {
    const principal = principalOf(client);
    // A Set, not a counter: Aedes can report the same client's disconnect late (takeover race).
    if (!principal || !live.delete(client)) return;
    if (byClientId.get(client.id) === client) byClientId.delete(client.id);
    metrics.connectedClients.dec({ type: principal.kind });
    // Aedes marks a client that sent DISCONNECT (§3.14.4) as `_disconnected` before it unregisters it.
    const at = takenElsewhere.get(client.id);
    if (at !== undefined && Date.now() - at < 60_000) {
      takenElsewhere.delete(client.id);
      if (principal.kind === 'device') presence.movedAway(client, principal.deviceId);
      logger.debug({ clientId: client.id, username: principalName(principal) }, 'client moved to another node');
      return;
    }
    const cause = (client as Client & { _disconnected?: boolean })._disconnected === true ? 'clean' : keepaliveExpired.has(client) ? 'keepalive' : 'lost';
    if (principal.kind === 'device') presence.disconnected(client, principal.deviceId, cause);
    logger.debug({ clientId: client.id, username: principalName(principal), cause }, 'client disconnected');
  });
  aedes.on('publish', (packet) => presence.observe(packet));
  // Cluster mode: status messages of every node (this emitter carries theirs; Aedes's `publish` event only this node's).
  deps.backplane?.mq.on(topics.allStatus, (message, done) => {
    presence.observeRemote(message as Pick<PublishPacket, 'topic' | 'payload'>);
    done();
  });
  const deliveryListeners = new Set<DeliveryListener>();
  // Aedes emits 'ack' with the packet it had delivered once the client's PUBACK arrives
  // (lib/handlers/puback.js) — known only for a persistent session, whose outgoing packets Aedes
  // stores; for a clean session the packet is undefined.
  aedes.on('ack', (acked, client) => {
    const packet = acked as AedesPublishPacket | PubrelPacket | undefined;
    if (deliveryListeners.size === 0 || !packet || !('topic' in packet) || !packet.topic) return;
    const payload = Buffer.isBuffer(packet.payload) ? packet.payload : Buffer.from(packet.payload ?? '');
    const principal = principalOf(client);
    const deviceId = principal?.kind === 'device' ? principal.deviceId : undefined;
    for (const listener of deliveryListeners) {
      try {
        listener({ topic: packet.topic, payload, clientId: client.id, ...(deviceId ? { deviceId } : {}) });
      } catch (err) {
        // Inside Aedes's PUBACK handling: a listener's bug must not reach it.
        logger.error({ err, topic: packet.topic }, 'delivery listener failed');
      }
    }
  });
  const audience = createCommandAudience({
    aedes, live, logger, persistence: () => (aedes as unknown as { persistence: SubscriptionLookup }).persistence,
    ...(deps.backplane ? { cluster: { mq: deps.backplane.mq, brokerId, heartbeatMs: config.heartbeatMs ?? AEDES_HEARTBEAT_MS } } : {}),
  });
  aedes.on('clientError', (client, err) => logger.info({ clientId: client.id, err: err.message }, 'client error, connection closed'));
  aedes.on('connectionError', (client, err) => logger.debug({ clientId: client.id, err: err.message }, 'connection error before session'));
  aedes.on('keepaliveTimeout', (client) => {
    keepaliveExpired.add(client);
    logger.info({ clientId: client.id }, 'keepalive timeout');
  });
  // Aedes emits 'error' for persistence failures and orphan Wills refused by the ACL; an
  // unhandled 'error' event would take the whole process down.
  (aedes as EventEmitter).on('error', (err: Error) => logger.error({ err }, 'broker error'));

  await aedes.listen();

  const handle = (conn: Parameters<Aedes['handle']>[0], req?: Parameters<Aedes['handle']>[1]) => {
    const clientId = () => (conn as { client?: Client }).client?.id ?? undefined;
    guardFrames(conn, config.maxFrameBytes, {
      onTooLarge() {
        metrics.connectionsRefused.inc({ reason: 'frame_too_large' });
        logger.warn({ clientId: clientId(), maxFrameBytes: config.maxFrameBytes }, 'connection closed: packet too large');
      },
      onInvalidString() {
        metrics.connectionsRefused.inc({ reason: 'invalid_string' });
        logger.warn({ clientId: clientId() }, 'connection closed: a topic, filter, client id or user name is not well-formed UTF-8 or holds U+0000 (MQTT 3.1.1 §1.5.3)');
      },
    });
    aedes.handle(conn, req);
  };

  const listeners: { tcp?: Listener; ws?: Listener; tls?: Listener; wss?: Listener } = {};
  const sweep = setInterval(() => limiter.sweep(), RATE_SWEEP_INTERVAL_MS);
  sweep.unref();

  let closing: Promise<void> | undefined;
  const close = (): Promise<void> =>
    (closing ??= (async () => {
      // Nothing new is admitted from here on; what ingest already holds is answered first, so a
      // publish taken during shutdown still gets its PUBACK and nothing is acknowledged after.
      await admission.drain(CLOSE_TIMEOUT_MS);
      // mqtt-packet corks the socket and writes on the next tick: let the last PUBACKs reach the
      // kernel before the sockets are destroyed.
      await new Promise((resolve) => setImmediate(resolve));
      presence.stop();
      clearInterval(sweep);
      // Messages of a shared log still being queued for persistent sessions (publishLocal), before Redis goes.
      await queueingSettled();
      // Destroying the sockets lets Aedes see every client go; aedes.close() then closes what is
      // left (and clients still authenticating) and its emitter.
      const listenersClosed = Promise.all(Object.values(listeners).map((l) => l.close()));
      const aedesClosed = new Promise<void>((resolve) => aedes.close(() => resolve()));
      const done = Promise.all([listenersClosed, aedesClosed]).then(() => undefined);
      let timer: NodeJS.Timeout | undefined;
      const timeout = new Promise<void>((resolve) => {
        timer = setTimeout(() => {
          logger.warn({ timeoutMs: CLOSE_TIMEOUT_MS }, 'broker close timed out');
          resolve();
        }, CLOSE_TIMEOUT_MS);
        timer.unref();
      });
      await Promise.race([done, timeout]);
      clearTimeout(timer);
      logger.info('broker closed');
    })());

  let opening: Promise<void> | undefined;
  const open = (): Promise<void> =>
    (opening ??= (async () => {
      if (closing) throw new Error('the broker is closed');
      // Admitting first: the first CONNECT may arrive before listen() has even called back.
      admission.open();
      try {
        if (config.plaintext !== false) {
          listeners.tcp = await listenTcp(config.host, config.port, handle);
          listeners.ws = await listenWebSocket(config.host, config.wsPort, config.maxFrameBytes, handle);
        }
        if (config.tls) {
          const options = tlsServerOptions(tlsContext ?? config.tls.context, config.tls.clientCerts);
          listeners.tls = await listenTcp(config.host, config.tls.port, handle, options);
          listeners.wss = await listenWebSocket(config.host, config.tls.wsPort, config.maxFrameBytes, handle, options);
        }
      } catch (err) {
        await close();
        throw err;
      }
      logger.info({ host: config.host, tcpPort: listeners.tcp?.port, wsPort: listeners.ws?.port, tlsPort: listeners.tls?.port, wssPort: listeners.wss?.port }, 'broker listening');
    })());

  // publishLocal: what Aedes 1.x uses of its emitter and persistence (untyped in its declarations), and its two chains.
  const localInternals = aedes as unknown as {
    mq: { emit(message: object, done: (err?: Error | null) => void): void };
    persistence: { subscriptionsByTopic(topic: string): Promise<unknown[]>; outgoingEnqueueCombi(subs: unknown[], packet: object): Promise<void> };
  };
  let localEmitting: Promise<void> = Promise.resolve();
  let localQueueing: Promise<void> = Promise.resolve();
  /** At close: the queueing still in flight, waited for a moment (Redis may be away). */
  const queueingSettled = () => Promise.race([localQueueing, new Promise<void>((r) => setTimeout(r, 1_000).unref())]);

  return {
    publish: (message) => new Promise<void>((resolve, reject) => {
      const payload = typeof message.payload === 'string' ? Buffer.from(message.payload) : message.payload;
      aedes.publish({ cmd: 'publish', topic: message.topic, payload, qos: message.qos, retain: message.retain, dup: false }, (err) => (err ? reject(err) : resolve()));
    }),
    publishLocal(message, identity) {
      const packet = {
        cmd: 'publish' as const, brokerId: identity.brokerId, brokerCounter: identity.counter, topic: message.topic,
        payload: typeof message.payload === 'string' ? Buffer.from(message.payload) : message.payload, qos: 1 as const, retain: false, dup: false,
      };
      const enqueue = async () => localInternals.persistence.outgoingEnqueueCombi(await localInternals.persistence.subscriptionsByTopic(packet.topic), packet);
      // Aedes's emitter hands a message to every matching subscription synchronously (its dedupe
      // included): emits started in call order reach each client in that order. The promise is the
      // delivery, which a persistent session's Redis write or a full socket may hold up — the next
      // emit does not wait for it.
      const start = () => new Promise<void>((resolve, reject) => {
        const handOut = deps.backplane ? deps.backplane.emitLocal : localInternals.mq.emit.bind(localInternals.mq);
        handOut(packet, (err) => (err ? reject(err) : resolve()));
      });
      const backplane = deps.backplane;
      if (backplane) {
        // Queued aside, once cluster-wide (Redis may be away: live subscribers here do not wait for it).
        const key = `anju:queued:${identity.brokerId}:${identity.counter}`;
        localQueueing = localQueueing.then(async () => {
          if (!(await backplane.claimOnce(key))) return;
          // A claim whose queueing failed is given back: a node that reads the event later (one that
          // starts, or reads its log late) queues it instead.
          await enqueue().catch(async (err: unknown) => {
            await backplane.unclaim(key).catch(() => undefined);
            throw err;
          });
        }).catch((err: unknown) => logger.warn({ err, topic: packet.topic }, 'could not queue a message for persistent sessions'));
        return start();
      }
      // A node's own persistence: queued first (Aedes's in-memory persistence refuses to update a message it never queued).
      const started = localEmitting.then(enqueue).then(() => ({ delivered: start() }));
      localEmitting = started.then(() => undefined, () => undefined);
      return started.then((s) => s.delivered);
    },
    id: brokerId,
    liveNodeIds() {
      if (!deps.backplane) return undefined;
      const since = Date.now() - 3 * (config.heartbeatMs ?? AEDES_HEARTBEAT_MS);
      return [...new Set([brokerId, ...Object.entries(aedesBrokers.alive ?? {}).filter(([, at]) => at >= since).map(([id]) => id)])];
    },
    get closed() { return aedes.closed; },
    get tcpPort() { return listeners.tcp?.port ?? 0; },
    get wsPort() { return listeners.ws?.port ?? 0; },
    get tlsPort() { return listeners.tls?.port ?? 0; },
    get wssPort() { return listeners.wss?.port ?? 0; },
    setSecureContext(context) {
      // Kept for listeners opened later, and applied to those already listening.
      tlsContext = context;
      listeners.tls?.setSecureContext?.(context);
      listeners.wss?.setSecureContext?.(context);
    },
    open,
    connectedDevices: () => presence.onlineDevices(),
    interceptPublish: (filters, handler) => interceptors.set(filters, handler),
    interceptReplies: (handler) => replies.set([topics.allReplies], handler),
    onDelivered(listener) {
      deliveryListeners.add(listener);
      return () => deliveryListeners.delete(listener);
    },
    reachesDevice: (topic) => audience.reaches(topic),
    onCommandSubscribe: (listener) => audience.onCommandSubscribe(listener),
    onPresence(listener) {
      presenceListeners.add(listener);
      return () => presenceListeners.delete(listener);
    },
    onDeviceElsewhere(listener) {
      elsewhereListeners.add(listener);
      return () => elsewhereListeners.delete(listener);
    },
    disconnect(principal) {
      let n = 0;
      for (const client of [...live]) {
        const p = principalOf(client);
        if (!p || p.kind !== principal.kind || principalName(p) !== principal.name) continue;
        client.close();
        n++;
      }
      if (n > 0) logger.info({ ...principal, connections: n }, 'principal disconnected');
      return n;
    },
    close,
  };
}
