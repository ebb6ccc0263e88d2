import type { EventEmitter } from 'node:events';
import { Aedes } from 'aedes';
import type { Client } from 'aedes';
import type { Logger } from 'pino';
import type { Registry } from 'prom-client';
import { createAcl } from './acl.js';
import { createAuthenticate } from './authenticate.js';
import type { Will } from './authenticate.js';
import type { BrokerPolicy } from './contracts.js';
import { guardFrames } from './frame-guard.js';
import { createInterceptors, type PublishInterceptor } from './intercept.js';
import { ConnectRateLimiter, connectionLimits, createRateLimitPreConnect } from './limits.js';
import { listenTcp, listenWebSocket } from './listeners.js';
import type { Listener } from './listeners.js';
import { createBrokerMetrics } from './metrics.js';
import { createPresence, type PresenceListener } from './presence.js';
import { principalName, principalOf } from './principal.js';

/**
 * The embedded broker: Aedes with our policy injected as its hooks, behind a TCP and a WebSocket
 * listener. This file only wires; each concern lives in its own module:
 *   authenticate.ts — who may connect (CONNACK codes), client-id namespaces, Will check
 *   acl.ts          — who may publish/subscribe where
 *   presence.ts     — retained online/offline status
 *   limits.ts       — connect rate, keepalive/connect/drain timeouts
 *   frame-guard.ts  — maximum packet size, enforced before Aedes buffers a packet
 *   listeners.ts    — TCP and WebSocket transports
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
}

export interface BrokerDeps {
  policy: BrokerPolicy;
  logger: Logger;
  metrics: Registry;
}

export interface AnjuBroker {
  readonly aedes: Aedes;
  readonly tcpPort: number;
  readonly wsPort: number;
  /** Distinct devices with at least one live connection. */
  connectedDevices(): number;
  /**
   * Hands client PUBLISHes on matching topics to `handler` after the ACL passed and before the
   * PUBACK; see intercept.ts. One interceptor at a time; returns its remover.
   */
  interceptPublish(filters: readonly string[], handler: PublishInterceptor): () => void;
  /** Told every presence change the broker publishes (the alerts engine's offline rule). */
  onPresence(listener: PresenceListener): () => void;
  /** Closes the listeners, disconnects every client and closes Aedes. Idempotent. */
  close(): Promise<void>;
}

/** Upper bound on shutdown: Aedes waits for each client's close, which persistence may delay. */
const CLOSE_TIMEOUT_MS = 5_000;
const RATE_SWEEP_INTERVAL_MS = 60_000;

export async function createBroker(config: BrokerConfig, deps: BrokerDeps): Promise<AnjuBroker> {
  const logger = deps.logger.child({ component: 'broker' });
  const metrics = createBrokerMetrics(deps.metrics);
  const acl = createAcl({ metrics, logger });

  // Aedes gives authenticate() the username and password but not the Will; preConnect sees the
  // whole CONNECT, so it remembers the Will for the ACL check in authenticate().
  const wills = new WeakMap<Client, NonNullable<Will>>();
  const limiter = new ConnectRateLimiter(config.connectRatePerMinute);
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
  });

  const interceptors = createInterceptors();

  // Constructed, not createBroker()'d: presence needs the instance and the hooks need presence.
  const aedes = new Aedes({
    ...connectionLimits(config),
    preConnect(client, packet, done) {
      if (packet.will) wills.set(client, packet.will);
      rateLimit(client, packet, done);
    },
    authenticate,
    authorizePublish(client, packet, done) {
      const denied = acl.checkPublish(client, packet);
      if (denied) return done(denied);
      // Refusing a Will is silent: Aedes just drops it (lib/client.js close()).
      if (presence.suppressWill(client, packet)) return done(new Error('will suppressed: device still connected'));
      const intercept = client ? interceptors.match(packet.topic) : undefined;
      if (!intercept || !client) return done(null);
      const payload = Buffer.isBuffer(packet.payload) ? packet.payload : Buffer.from(packet.payload);
      intercept({ topic: packet.topic, payload, qos: packet.qos, clientId: client.id }).then(
        () => done(null),
        (err: Error) => {
          metrics.publishesRefused.inc();
          logger.warn({ clientId: client.id, topic: packet.topic, err: err.message }, 'publish not taken, closing without PUBACK; the client will resend');
          done(err);
        },
      );
    },
    authorizeSubscribe: acl.authorizeSubscribe,
    authorizeForward: acl.authorizeForward,
  });
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
    const cause = (client as Client & { _disconnected?: boolean })._disconnected === true ? 'clean' : keepaliveExpired.has(client) ? 'keepalive' : 'lost';
    if (principal.kind === 'device') presence.disconnected(client, principal.deviceId, cause);
    logger.info({ clientId: client.id, username: principalName(principal), cause }, 'client disconnected');
  });
  aedes.on('publish', (packet) => presence.observe(packet));
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
    guardFrames(conn, config.maxFrameBytes, () => {
      metrics.connectionsRefused.inc({ reason: 'frame_too_large' });
      const client = (conn as { client?: Client }).client;
      logger.warn({ clientId: client?.id ?? undefined, maxFrameBytes: config.maxFrameBytes }, 'connection closed: packet too large');
    });
    aedes.handle(conn, req);
  };

  const listeners: Listener[] = [];
  const sweep = setInterval(() => limiter.sweep(), RATE_SWEEP_INTERVAL_MS);
  sweep.unref();

  let closing: Promise<void> | undefined;
  const close = (): Promise<void> =>
    (closing ??= (async () => {
      presence.stop();
      clearInterval(sweep);
      // Destroying the sockets lets Aedes see every client go; aedes.close() then closes what is
      // left (and clients still authenticating) and its emitter.
      const listenersClosed = Promise.all(listeners.map((l) => l.close()));
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

  try {
    listeners.push(await listenTcp(config.host, config.port, handle));
    listeners.push(await listenWebSocket(config.host, config.wsPort, config.maxFrameBytes, handle));
  } catch (err) {
    await close();
    throw err;
  }
  const [tcp, ws] = listeners as [Listener, Listener];
  logger.info({ host: config.host, tcpPort: tcp.port, wsPort: ws.port }, 'broker listening');

  return {
    aedes,
    tcpPort: tcp.port,
    wsPort: ws.port,
    connectedDevices: () => presence.onlineDevices(),
    interceptPublish: (filters, handler) => interceptors.set(filters, handler),
    onPresence(listener) {
      presenceListeners.add(listener);
      return () => presenceListeners.delete(listener);
    },
    close,
  };
}
