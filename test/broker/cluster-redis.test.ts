import { createRequire } from 'node:module';
import { Redis } from 'ioredis';
import mqtt from 'mqtt';
import { pino } from 'pino';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { createRedisBackplane, redactRedisUrl, type BrokerBackplane } from '../../broker/index.js';
import { redisAvailability, startRedis, type RedisServer } from '../helpers/redis.js';
import { BMS, OPS, closedByBroker, device, granted, nextMessage, startBroker, type TestBroker } from './harness.js';

/**
 * The broker tier of cluster mode (broker/backplane.ts) with a real Debian redis-server: two brokers,
 * as two nodes would run them, share publish/subscribe, sessions, retained messages and takeover
 * through Redis, and each reports Redis's state; after Redis restarts they carry messages again
 * without being restarted themselves.
 */

const logger = pino({ level: 'silent' });
// The encoding aedes-persistence-redis stores Wills in (to leave one behind as a node that died would).
const msgpack = createRequire(createRequire(import.meta.url).resolve('aedes-persistence-redis'))('msgpack-lite') as { encode(v: unknown): Buffer };
const { skip } = redisAvailability();

describe.skipIf(skip)(`two brokers on one Redis ${skip ?? ''}`, () => {
  let redis: RedisServer;
  let open: Array<{ broker: TestBroker; backplane: BrokerBackplane }> = [];
  beforeAll(async () => {
    redis = await startRedis();
  });
  afterAll(async () => {
    await redis?.cleanup();
  });
  afterEach(async () => {
    for (const n of open) {
      await n.broker.close();
      await n.backplane.close();
    }
    open = [];
  });

  const node = async (overrides: { heartbeatMs?: number } = {}): Promise<{ broker: TestBroker; backplane: BrokerBackplane }> => {
    const backplane = await createRedisBackplane({ url: redis.url }, { logger });
    const broker = await startBroker(overrides, { backplane });
    const n = { broker, backplane };
    open.push(n);
    return n;
  };

  it('a message published on node A reaches a subscriber on node B, QoS 1, once', async () => {
    const [a, b] = [await node(), await node()];
    const bms = await a.broker.connect({ clientId: 'bms:1', ...BMS });
    const d1 = await b.broker.connect(device('d1'));
    expect(await granted(d1, 'devices/d1/commands/#')).toEqual([1]);
    const received: string[] = [];
    d1.on('message', (topic, payload) => { if (topic.startsWith('devices/d1/commands/')) received.push(payload.toString()); });
    // The subscription reaches node A through Redis (aedes-persistence-redis broadcasts it): retry until it has.
    await vi.waitFor(async () => {
      await bms.publishAsync('devices/d1/commands/close', JSON.stringify({ id: `c-${received.length}` }), { qos: 1 });
      expect(received.length).toBeGreaterThan(0);
    }, { timeout: 5_000, interval: 200 });
    await bms.publishAsync('devices/d1/commands/close', JSON.stringify({ id: 'c-final' }), { qos: 1 });
    await vi.waitFor(() => expect(received).toContain(JSON.stringify({ id: 'c-final' })));
    // Once, not once per node.
    await new Promise((r) => setTimeout(r, 300));
    expect(received.filter((m) => m === JSON.stringify({ id: 'c-final' }))).toHaveLength(1);
  });

  it('a persistent session moves between nodes: a QoS 1 message queued while the device was away is delivered on the other node', async () => {
    const [a, b] = [await node(), await node()];
    const first = await a.broker.connect(device('d3', { clean: false }));
    expect(await granted(first, 'devices/d3/commands/#')).toEqual([1]);
    await first.endAsync();
    await a.broker.broker.publish({ topic: 'devices/d3/commands/close', payload: JSON.stringify({ id: 'queued-1' }), qos: 1, retain: false });

    // Connected by hand to see the CONNACK: MQTT 3.1.1 §3.2.2.2 Session Present, because node B found
    // the session node A had kept.
    const again = mqtt.connect(b.broker.url, { protocolVersion: 4, reconnectPeriod: 0, ...device('d3', { clean: false }) });
    const got = nextMessage(again, 'devices/d3/commands/close', 5_000);
    try {
      const connack = await new Promise<{ sessionPresent: boolean }>((resolve, reject) => {
        again.once('connect', resolve);
        again.once('error', reject);
      });
      expect(connack.sessionPresent).toBe(true);
      expect((await got).payload).toBe(JSON.stringify({ id: 'queued-1' }));
    } finally {
      await again.endAsync();
    }
  });

  it('a client id connecting on node B closes its older connection on node A (§3.1.4-2 across nodes), and the device stays online', async () => {
    const [a, b] = [await node(), await node()];
    const elsewhere: Record<'a' | 'b', string[]> = { a: [], b: [] };
    a.broker.broker.onDeviceElsewhere((id) => elsewhere.a.push(id));
    b.broker.broker.onDeviceElsewhere((id) => elsewhere.b.push(id));
    const old = await a.broker.connect(device('d2'));
    const closed = closedByBroker(old, 5_000);
    await b.broker.connect(device('d2'));
    await closed;
    expect(old.connected).toBe(false);
    // Node A hears that d2 is now on B (its alarm rules hand the device over); B hears it of A's
    // first connection, which it never held; a service account is no device.
    await b.broker.connect({ clientId: 'bms:3', ...BMS });
    await vi.waitFor(() => expect(elsewhere.a).toEqual(['d2']));
    expect(elsewhere.b).toEqual(['d2']);
    // The device moved, it did not go offline: node A does not overwrite B's retained `online`.
    await new Promise((r) => setTimeout(r, 500));
    const ops = await a.broker.connect({ clientId: 'ops:2', ...OPS });
    const status = nextMessage(ops, 'devices/d2/status', 5_000);
    await ops.subscribeAsync('devices/d2/status', { qos: 1 });
    expect(await status).toEqual({ payload: 'online', retain: true });
  });

  it('a node just started counts as alive from its birth: its devices\' Wills are not published by another node before its first heartbeat', async () => {
    // Every node beats every second; B sweeps for dead brokers' Wills every 4 s (Aedes: 4 beats). A starts
    // just before B's first sweep, so that sweep falls before A's first heartbeat (1 s after A starts).
    const b = await node({ heartbeatMs: 1_000 });
    const bStarted = Date.now();
    const watcher = await b.broker.connect({ clientId: 'ops:3', ...OPS });
    await watcher.subscribeAsync('devices/d1/status', { qos: 1 });
    const said: string[] = [];
    watcher.on('message', (_t, p) => said.push(p.toString()));
    await new Promise((r) => setTimeout(r, Math.max(0, bStarted + 3_500 - Date.now())));
    const a = await node({ heartbeatMs: 1_000 });
    await a.broker.connect(device('d1', { will: { topic: 'devices/d1/status', payload: Buffer.from('offline'), qos: 1, retain: true } }));
    await vi.waitFor(() => expect(said).toContain('online'));
    await new Promise((r) => setTimeout(r, Math.max(0, bStarted + 5_000 - Date.now()))); // B's first sweep is past
    expect(said).not.toContain('offline');
  }, 15_000);

  it('the stale Will of a node that died, for a device that has connected on another node since, marks nothing offline', async () => {
    // Found in review: a third node sweeping the dead node's Wills took the device for lost (an offline
    // alarm where its alerts run) and its retained `offline` overwrote the live node's `online`.
    // C starts 2 s before B: C's sweeps (every 4 beats) come first, so C is the one that publishes the Will.
    const c = await node({ heartbeatMs: 1_000 });
    await new Promise((r) => setTimeout(r, 2_000));
    const b = await node({ heartbeatMs: 1_000 });
    const heardOnC: string[] = [];
    c.broker.broker.onPresence((id, status, _ts, cause) => heardOnC.push(`${id} ${status} ${cause}`));
    // What a node that died left in Redis: d1's Will, stored when d1 connected to it (no heartbeat ever comes from it again).
    const db = new Redis(redis.url);
    try {
      const willKey = 'will:anju-dead:d1';
      await db.rpush('will', willKey);
      await db.set(willKey, msgpack.encode({ cmd: 'publish', topic: 'devices/d1/status', payload: Buffer.from('offline'), qos: 1, retain: true, clientId: 'd1', brokerId: 'anju-dead' }));
    } finally {
      db.disconnect();
    }
    await b.broker.connect(device('d1', { will: { topic: 'devices/d1/status', payload: Buffer.from('offline'), qos: 1, retain: true } }));
    // C's next sweep (4 s after it started) finds the Will: published, and its key removed.
    const left = new Redis(redis.url);
    try {
      await vi.waitFor(async () => expect(await left.exists('will:anju-dead:d1')).toBe(0), { timeout: 12_000, interval: 250 });
    } finally {
      left.disconnect();
    }
    await new Promise((r) => setTimeout(r, 500));
    expect(heardOnC.filter((h) => h.startsWith('d1 offline'))).toEqual([]);
    const ops = await c.broker.connect({ clientId: 'ops:4', ...OPS });
    const status = nextMessage(ops, 'devices/d1/status', 5_000);
    await ops.subscribeAsync('devices/d1/status', { qos: 1 });
    expect(await status).toEqual({ payload: 'online', retain: true });
  }, 30_000);

  it('a retained status set on node A is what a subscriber on node B receives', async () => {
    const [a, b] = [await node(), await node()];
    const d1 = await a.broker.connect(device('d1'));
    await d1.publishAsync('devices/d1/status', 'online', { qos: 1, retain: true });
    const ops = await b.broker.connect({ clientId: 'ops:1', ...OPS });
    const status = nextMessage(ops, 'devices/d1/status', 5_000);
    await ops.subscribeAsync('devices/+/status', { qos: 1 });
    expect(await status).toEqual({ payload: 'online', retain: true });
  });

  it('while Redis restarts the backplane reports it down; afterwards messages cross nodes again without a restart', async () => {
    const [a, b] = [await node(), await node()];
    expect(await a.backplane.ping()).toMatchObject({ ok: true });
    const bms = await a.broker.connect({ clientId: 'bms:2', ...BMS });
    const d1 = await b.broker.connect(device('d1'));
    await d1.subscribeAsync('devices/d1/commands/#', { qos: 1 });

    await redis.stop();
    await vi.waitFor(async () => expect(await a.backplane.ping()).toMatchObject({ ok: false }), { timeout: 5_000 });
    await redis.start();
    await vi.waitFor(async () => expect(await a.backplane.ping()).toMatchObject({ ok: true }), { timeout: 15_000, interval: 200 });
    await vi.waitFor(async () => expect(await b.backplane.ping()).toMatchObject({ ok: true }), { timeout: 15_000, interval: 200 });

    // Redis lost the subscriptions with its data (no persistence in tests): the device subscribes again,
    // as a device does on reconnecting; pub/sub between the nodes works again.
    await d1.subscribeAsync('devices/d1/commands/#', { qos: 1 });
    const received: string[] = [];
    d1.on('message', (_t, p) => received.push(p.toString()));
    await vi.waitFor(async () => {
      await bms.publishAsync('devices/d1/commands/open', 'after-restart', { qos: 1 });
      expect(received).toContain('after-restart');
    }, { timeout: 10_000, interval: 300 });
  }, 40_000);

  it('publishLocal: what every node publishes from one log reaches each subscriber once and in order, live or queued once for a persistent session', async () => {
    const [a, b] = [await node(), await node()];
    const onA = await a.broker.connect({ clientId: 'ops:la', ...OPS });
    const onB = await b.broker.connect({ clientId: 'ops:lb', ...OPS });
    await Promise.all([onA.subscribeAsync('devices/#', { qos: 1 }), onB.subscribeAsync('devices/#', { qos: 1 })]);
    const got = { a: [] as string[], b: [] as string[] };
    onA.on('message', (_t, p) => got.a.push(p.toString()));
    onB.on('message', (_t, p) => got.b.push(p.toString()));
    const local = (n: typeof a, payload: string, counter: number) =>
      n.broker.broker.publishLocal({ topic: 'devices/ev/telemetry', payload }, { brokerId: 'log', counter });
    // Each node hands them to its own subscribers only: once each, not once per node — and in order even
    // when one node's calls are not awaited one by one (a read of the log hands several over at once).
    await Promise.all([local(a, 'e1', 1), local(a, 'e2', 2), local(b, 'e1', 1), local(b, 'e2', 2)]);
    await vi.waitFor(() => expect([got.a, got.b]).toEqual([['e1', 'e2'], ['e1', 'e2']]));
    // The same event again (a node reading the log twice): Aedes forwards a counter once.
    await local(b, 'e2', 2);
    await new Promise((r) => setTimeout(r, 300));
    expect(got.b).toEqual(['e1', 'e2']);

    // A persistent session, last connected to A, is away: both nodes publish; its return on B delivers it once.
    const first = await a.broker.connect({ ...OPS, clientId: 'ops:persistent', clean: false });
    await first.subscribeAsync('devices/#', { qos: 1 });
    await first.endAsync();
    await Promise.all([local(a, 'e3', 3), local(b, 'e3', 3)]);
    // Queued aside (not awaited by publishLocal): until it is in the session's queue in Redis, once.
    const redisClient = new Redis(redis.url);
    try {
      await vi.waitFor(async () => expect(await redisClient.llen(`outgoing:${encodeURIComponent('ops:persistent')}`)).toBe(1), { timeout: 5_000, interval: 100 });
    } finally {
      redisClient.disconnect();
    }
    const again = mqtt.connect(b.broker.url, { protocolVersion: 4, reconnectPeriod: 0, ...OPS, clientId: 'ops:persistent', clean: false });
    const received: string[] = [];
    again.on('message', (_t, p) => received.push(p.toString()));
    try {
      await new Promise((resolve, reject) => { again.once('connect', resolve); again.once('error', reject); });
      await vi.waitFor(() => expect(received).toEqual(['e3']), { timeout: 5_000 });
      await new Promise((r) => setTimeout(r, 500));
      expect(received).toEqual(['e3']);
    } finally {
      again.end(true);
    }
  });

  it('fails start-up with a message naming ANJU_REDIS_URL, and never prints the password', async () => {
    const url = redis.url.replace(`:${redis.port}/`, ':1/');
    const err = await createRedisBackplane({ url, connectTimeoutMs: 2_000 }, { logger }).then(() => undefined, (e: Error) => e);
    expect(err?.message).toMatch(/ANJU_REDIS_URL/);
    const password = new URL(redis.url).password;
    expect(err?.message).not.toContain(password);
    expect(redactRedisUrl(redis.url)).not.toContain(password);
  });
});
