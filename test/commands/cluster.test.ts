import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { MqttClient } from 'mqtt';
import { pino } from 'pino';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { createRedisBackplane, type BrokerBackplane } from '../../broker/index.js';
import { createCommandService, type CommandService } from '../../commands/index.js';
import type { Command, Device } from '../../core/index.js';
import type { CommandStore } from '../../storage/commands/contract.js';
import { createEmbeddedDatabase, type EmbeddedDatabase } from '../../storage/index.js';
import { device, startBroker, type TestBroker } from '../broker/harness.js';
import { holdPoint } from '../helpers/hold-point.js';
import { redisAvailability, startRedis, type RedisServer } from '../helpers/redis.js';

/**
 * Commands in cluster mode: two brokers on one real Redis (as two nodes run them), a dispatcher on
 * each, one command store between them (PostgreSQL in a cluster; the embedded store here, which keeps
 * the same contract). A device on a clean session is subscribed on one node only: the other learns it
 * from Aedes's `$SYS` announcements through Redis (broker/command-audience.ts).
 */

const logger = pino({ level: 'silent' });
const { skip } = redisAvailability();
const T = Date.UTC(2026, 0, 1);
const devices: Record<string, Device> = {
  d2: { id: 'd2', kind: 'power_meter', site: 's', building: 'b', name: 'lighting breaker', capabilities: ['switch'], createdAt: T },
  d9: { id: 'd9', kind: 'power_meter', site: 's', building: 'b', name: 'pump breaker', capabilities: ['switch'], createdAt: T },
};

describe.skipIf(skip)(`commands across two nodes on one Redis ${skip ?? ''}`, () => {
  let redis: RedisServer;
  let dir: string;
  let db: EmbeddedDatabase;
  let open: Array<{ broker: TestBroker; backplane: BrokerBackplane }> = [];
  let services: CommandService[] = [];
  let clients: MqttClient[] = [];
  beforeAll(async () => {
    redis = await startRedis();
    dir = await mkdtemp(join(tmpdir(), 'anju-commands-cluster-'));
    db = await createEmbeddedDatabase({ dataDir: dir, memoryLimit: '128MB', threads: 1 }, { logger });
  });
  afterAll(async () => {
    await db?.close();
    await rm(dir, { recursive: true, force: true });
    await redis?.cleanup();
  });
  afterEach(async () => {
    for (const c of clients) await c.endAsync();
    for (const s of services) await s.stop();
    for (const n of open) {
      await n.broker.close();
      await n.backplane.close();
    }
    clients = [];
    services = [];
    open = [];
  });

  const node = async (overrides: { heartbeatMs?: number } = {}): Promise<TestBroker> => {
    const backplane = await createRedisBackplane({ url: redis.url }, { logger });
    const broker = await startBroker(overrides, { backplane });
    open.push({ broker, backplane });
    return broker;
  };
  const dispatcher = (n: TestBroker, store: CommandStore = db.commands): CommandService => {
    const s = createCommandService({ sweepIntervalMs: 60_000, replyGraceMs: 5_000, sessionsSurviveRestart: true }, {
      store, devices: { get: (id) => devices[id] }, broker: n.broker, logger, metrics: n.registry,
    });
    services.push(s);
    return s;
  };
  /** The device on a clean session, subscribed to its commands on `n`; every command message it gets, by id. */
  const listening = async (n: TestBroker) => {
    const c = await n.connect(device('d2'));
    clients.push(c);
    const got: string[] = [];
    c.on('message', (_topic, payload) => got.push(String((JSON.parse(payload.toString()) as { id?: unknown }).id)));
    await c.subscribeAsync('devices/d2/commands/#', { qos: 1 });
    return got;
  };
  const statusOf = (id: string, status: Command['status']) => vi.waitFor(async () => {
    expect((await db.commands.get(id))?.status).toBe(status);
  }, { timeout: 10_000, interval: 50 });

  it('a command sent through node A goes at once to a device listening on node B, which gets it once', async () => {
    // Found in review: a clean session's subscription lives on its node only, so node A held the
    // command until it expired although the device was listening on node B.
    const a = await node();
    const b = await node();
    const onA = dispatcher(a);
    dispatcher(b);
    const got = await listening(b);
    await vi.waitFor(async () => expect(await a.broker.reachesDevice('devices/d2/commands/open')).toBe(true), { timeout: 5_000, interval: 50 });
    const sent = await onA.send('d2', { name: 'open', ttlSeconds: 600 }, 'token:ops');
    expect(sent.status).not.toBe('queued');
    await vi.waitFor(() => expect(got).toContain(sent.id), { timeout: 5_000, interval: 50 });
    // A clean session leaves no PUBACK trace (broker/create-broker.ts onDelivered): `sent` until its reply.
    await statusOf(sent.id, 'sent');
    expect(got.filter((id) => id === sent.id)).toHaveLength(1);
  });

  it('a command held on node A goes out when its device subscribes on node B, which does not hold it', async () => {
    const a = await node();
    const b = await node();
    // Node B's dispatcher has read what was held at its start before the send: a send of its own runs
    // after that read (one queue), so B does not hold d2's command and only A can publish it.
    await dispatcher(b).send('d9', { name: 'open', ttlSeconds: 600 }, 'token:ops');
    const held = await dispatcher(a).send('d2', { name: 'open', ttlSeconds: 600 }, 'token:ops');
    expect(held.status).toBe('queued');
    const got = await listening(b);
    await vi.waitFor(() => expect(got).toContain(held.id), { timeout: 5_000, interval: 50 });
    await statusOf(held.id, 'sent');
  });

  it('when both nodes hold a command and its device subscribes, it is published once (the claim is a compare-and-set)', async () => {
    const a = await node();
    const b = await node();
    const held = await dispatcher(a).send('d2', { name: 'open', ttlSeconds: 600 }, 'token:ops');
    expect(held.status).toBe('queued');
    // Node B's status write for it is held, so both nodes are inside their flush at once: B flushes
    // as the device subscribes there, A when it hears of it through Redis.
    const hold = holdPoint();
    const onB: CommandStore = new Proxy(db.commands, {
      get(target, key, receiver) {
        if (key !== 'transition') return Reflect.get(target, key, receiver) as unknown;
        return async (...args: Parameters<CommandStore['transition']>) => {
          if (args[0] === held.id && args[2].status === 'sent') {
            hold.reach();
            await hold.released;
          }
          return target.transition(...args);
        };
      },
    });
    // Started after the send: its start-up read holds the queued command too (done once a send of its own has run).
    await dispatcher(b, onB).send('d9', { name: 'open', ttlSeconds: 600 }, 'token:ops');
    const got = await listening(b);
    await hold.reached;
    await statusOf(held.id, 'sent');
    await vi.waitFor(() => expect(got).toContain(held.id), { timeout: 5_000, interval: 50 });
    hold.release();
    // Time for a second copy to arrive, had both published.
    await new Promise((r) => setTimeout(r, 1_000));
    expect(got.filter((id) => id === held.id)).toHaveLength(1);
  });

  it('forgets a device\'s subscription on another node when it disconnects there: a command is held again', async () => {
    const a = await node();
    const b = await node();
    const onA = dispatcher(a);
    dispatcher(b);
    await listening(b);
    await vi.waitFor(async () => expect(await a.broker.reachesDevice('devices/d2/commands/open')).toBe(true), { timeout: 5_000, interval: 50 });
    await clients.pop()!.endAsync();
    await vi.waitFor(async () => expect(await a.broker.reachesDevice('devices/d2/commands/open')).toBe(false), { timeout: 5_000, interval: 50 });
    expect((await onA.send('d2', { name: 'open', ttlSeconds: 600 }, 'token:ops')).status).toBe('queued');
  });

  it('stops counting what a node that died said of its devices after three missed heartbeats: their commands are held again', async () => {
    // Found in review: a crashed node sends no disconnects, and commands for its devices were claimed
    // `sent` and published to nobody until each device connected again. The node here is what one
    // leaves in Redis: its announcements of d2's subscription and its heartbeats, until they stop.
    const a = await node({ heartbeatMs: 300 });
    const onA = dispatcher(a);
    const ghost = await createRedisBackplane({ url: redis.url }, { logger });
    const emit = (topic: string, payload: string) => new Promise<void>((resolve) => {
      (ghost.mq as unknown as { emit(m: object, cb: () => void): void }).emit({ topic, payload: Buffer.from(payload) }, resolve);
    });
    try {
      await emit('$SYS/anju-dead-node/heartbeat', 'anju-dead-node');
      await emit('$SYS/anju-dead-node/new/subscribes', JSON.stringify({ clientId: 'd2', subs: [{ topic: 'devices/d2/commands/#', qos: 1 }] }));
      await vi.waitFor(async () => expect(await a.broker.reachesDevice('devices/d2/commands/open')).toBe(true), { timeout: 5_000, interval: 50 });
      // No more heartbeats: after three intervals (900 ms) it no longer counts.
      await vi.waitFor(async () => expect(await a.broker.reachesDevice('devices/d2/commands/open')).toBe(false), { timeout: 5_000, interval: 100 });
      expect((await onA.send('d2', { name: 'open', ttlSeconds: 600 }, 'token:ops')).status).toBe('queued');
    } finally {
      await ghost.close();
    }
  });
});
