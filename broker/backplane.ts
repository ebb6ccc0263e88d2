import { EventEmitter } from 'node:events';
import { createRequire } from 'node:module';
import { Redis } from 'ioredis';
import mqemitterRedis from 'mqemitter-redis';
import type { Logger } from 'pino';

/**
 * Cluster mode, broker tier (ANJU_REDIS_URL): the brokers of all nodes on one Redis, through Aedes's
 * own clustering — no protocol of ours:
 *
 * - `mqemitter-redis` carries every message Aedes hands to its emitter to every node (Redis pub/sub):
 *   a subscriber on node C receives what a device or the platform published on node B. It also carries
 *   Aedes's `$SYS/<broker>/…` messages: `new/clients` closes a client id's older connection on another
 *   node when it connects here (the takeover of MQTT 3.1.1 §3.1.4-2 across nodes), and `heartbeat`
 *   tells each node which brokers are alive, so a dead node's stored Wills are published by another
 *   one after 4 heartbeats (Aedes `_clearWills`).
 * - `aedes-persistence-redis` keeps sessions, subscriptions, retained messages, the QoS 1 messages
 *   queued for an offline persistent session and the Wills in Redis: a device that reconnects to
 *   another node with Clean Session 0 (§3.1.2.4) finds its subscriptions and what was queued for it.
 *
 * What it does not share: telemetry (each node's spool forwards to the one InfluxDB), state (PostgreSQL).
 *
 * Redis connections are ioredis's: they reconnect with backoff on their own, and queue commands
 * while disconnected (so a publish waits rather than fails; its PUBACK waits with it). `ping()` is
 * what /health reports: `degraded` while Redis is away.
 */

/** What the broker itself uses of the emitter besides handing it to Aedes: listening to `$SYS` messages. */
export interface ClusterEmitter {
  on(topic: string, listener: (message: { topic: string; payload?: unknown }, done: () => void) => void, callback?: () => void): unknown;
}

export interface BrokerBackplane {
  /** Aedes's `mq` option. */
  readonly mq: ClusterEmitter;
  /**
   * Hands a message to this node's subscribers only, never through Redis: mqemitter-redis's own local
   * path, the one each message arriving from Redis takes. For what every node publishes itself from a
   * shared log (create-broker.ts `publishLocal`).
   */
  emitLocal(message: object, done: (err?: Error | null) => void): void;
  /** True for the first node to claim `key` (Redis SET NX, kept a day), false for every later one. */
  claimOnce(key: string): Promise<boolean>;
  /** Gives a claim back (the work it stood for failed): the next claimOnce of `key` succeeds. */
  unclaim(key: string): Promise<void>;
  /** Aedes's `persistence` option. */
  readonly persistence: unknown;
  /** For /health: whether Redis answers, and in how long. */
  ping(): Promise<{ ok: true; ms: number } | { ok: false; error: string }>;
  /** Closes the connections; after the broker has closed (Aedes closes the emitter itself). */
  close(): Promise<void>;
}

export interface BackplaneConfig {
  url: string;
  /** How long start-up waits for Redis before it fails with a message naming ANJU_REDIS_URL. */
  connectTimeoutMs?: number;
}

/**
 * The package's factory: its async persistence wrapped the way Aedes 1.x calls it (promises, and
 * Node streams for retained messages). Untyped (CommonJS without declarations): the options we pass.
 */
const requireCjs = createRequire(import.meta.url);
const aedesPersistenceRedis = requireCjs('aedes-persistence-redis') as (opts: { conn: Redis; maxSessionDelivery?: number }) => object;

const PING_TIMEOUT_MS = 2_000;
/** How long a claimOnce key is kept: far longer than any node takes to publish what it read from the log. */
const CLAIM_TTL_S = 86_400;

type Emitter = ReturnType<typeof mqemitterRedis>;

/**
 * mqemitter-redis, made safe to close while Aedes still publishes: Aedes closes its emitter while
 * the clients it just closed still publish their `$SYS/…/new/unsubscribes`; such a publish reaching a
 * connection that is quitting fails in a promise nobody handles, which would end the process. From
 * `close()` on, a publish is answered "closed" without touching Redis, and the close waits (up to a
 * second) for the publishes already sent. Its connections' errors, re-emitted on `state`, are heard
 * here (watch() logs them once per outage).
 */
function guardClose(mq: Emitter): Emitter {
  (mq as unknown as { state: EventEmitter }).state.on('error', () => undefined);
  const emit = mq.emit.bind(mq);
  const close = mq.close.bind(mq);
  let inFlight = 0;
  let closing = false;
  const settled = new EventEmitter();
  mq.emit = (message, done) => {
    if (closing) {
      done?.(new Error('the broker backplane is closing'));
      return;
    }
    inFlight++;
    emit(message, (err) => {
      inFlight--;
      if (inFlight === 0) settled.emit('idle');
      done?.(err);
    });
  };
  mq.close = (cb) => {
    closing = true;
    const timer = setTimeout(() => settled.emit('idle'), 1_000);
    const go = () => { clearTimeout(timer); close(cb); };
    if (inFlight === 0) go();
    else settled.once('idle', go);
  };
  return mq;
}

/** The URL without its password, for messages and logs. */
export function redactRedisUrl(url: string): string {
  try {
    const u = new URL(url);
    if (u.password) u.password = '***';
    return u.toString();
  } catch {
    return 'redis://(unparseable URL)';
  }
}

export async function createRedisBackplane(config: BackplaneConfig, deps: { logger: Logger }): Promise<BrokerBackplane> {
  const log = deps.logger.child({ part: 'broker', backplane: 'redis' });
  const where = redactRedisUrl(config.url);
  const base = new Redis(config.url, {
    lazyConnect: true,
    connectionName: 'anju-persistence',
    // A command waits for Redis to come back rather than fail after N reconnection attempts: Aedes
    // does not handle every persistence promise's rejection, and an unhandled one would end the
    // process. Waiting is bounded by MQTT itself: a publish's PUBACK waits with it, so each device
    // stops at its in-flight window.
    maxRetriesPerRequest: null,
  });
  const connections: Redis[] = [base];
  // Each connection logs its state changes once; a Redis outage is one warning, not one per command.
  const watch = (c: Redis, role: string) => {
    let down = false;
    c.on('error', (err: Error) => {
      if (!down) log.warn({ role, err: err.message }, 'Redis connection lost: retrying with backoff');
      down = true;
    });
    c.on('ready', () => {
      if (down) log.info({ role }, 'Redis connection back');
      down = false;
    });
  };
  watch(base, 'persistence');

  const timeoutMs = config.connectTimeoutMs ?? 10_000;
  let timer: NodeJS.Timeout | undefined;
  try {
    await Promise.race([
      base.connect(),
      new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new Error(`no answer within ${timeoutMs} ms`)), timeoutMs);
      }),
    ]);
  } catch (err) {
    base.disconnect();
    throw new Error(`Redis at ${where} (ANJU_REDIS_URL) cannot be reached: ${(err as Error).message}. Start Redis or correct the URL; cluster mode needs it before a node accepts devices.`);
  } finally {
    clearTimeout(timer);
  }

  const pubConn = base.duplicate({ connectionName: 'anju-mq-pub' });
  const subConn = base.duplicate({ connectionName: 'anju-mq-sub' });
  connections.push(pubConn, subConn);
  watch(pubConn, 'publish');
  watch(subConn, 'subscribe');
  // Connected before anyone subscribes: (P)SUBSCRIBEs sent on a lazy connection before it is ready
  // can be lost (seen here: a node that never heard its own `$SYS/sub/add` and held every SUBSCRIBE).
  await Promise.all([pubConn.connect(), subConn.connect()]);
  const mq = guardClose(mqemitterRedis({ pubConn, subConn }));
  const persistence = aedesPersistenceRedis({ conn: base });
  log.info({ redis: where }, 'broker backplane on Redis: sessions, retained messages and publish/subscribe shared with the other nodes');

  let closed = false;
  // mqemitter-redis keeps MQEmitter's own emit as `_emit` and calls it for every message from Redis.
  const local = mq as unknown as { _emit(message: object, done: (err?: Error | null) => void): void };
  return {
    mq,
    persistence,
    emitLocal: (message, done) => local._emit(message, done),
    claimOnce: async (key) => (await base.set(key, '1', 'EX', CLAIM_TTL_S, 'NX')) === 'OK',
    unclaim: async (key) => { await base.del(key); },
    async ping() {
      const t0 = performance.now();
      let t: NodeJS.Timeout | undefined;
      try {
        if (base.status !== 'ready') return { ok: false, error: `connection ${base.status}` };
        await Promise.race([
          base.ping(),
          new Promise<never>((_, reject) => { t = setTimeout(() => reject(new Error(`no answer within ${PING_TIMEOUT_MS} ms`)), PING_TIMEOUT_MS); }),
        ]);
        return { ok: true, ms: performance.now() - t0 };
      } catch (err) {
        return { ok: false, error: (err as Error).message };
      } finally {
        clearTimeout(t);
      }
    },
    async close() {
      if (closed) return;
      closed = true;
      // Not persistence.destroy(): it unsubscribes through the broker's emitter, which Aedes has closed
      // by now; its only other work is disconnecting `base`. QUIT lets the replies still due arrive
      // (a disconnect would reject their commands, which nobody awaits any more); a Redis that does not
      // answer gets a second, then the sockets are closed.
      const quitting = Promise.allSettled(connections.filter((c) => c.status === 'ready').map((c) => c.quit()));
      let t: NodeJS.Timeout | undefined;
      await Promise.race([quitting, new Promise((r) => { t = setTimeout(r, 1_000); })]);
      clearTimeout(t);
      for (const c of connections) c.disconnect();
    },
  };
}
