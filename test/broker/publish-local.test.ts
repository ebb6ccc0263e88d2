import mqtt from 'mqtt';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { OPS, startBroker, type TestBroker } from './harness.js';

/**
 * `publishLocal` on a broker with its own, in-memory persistence (a node on PostgreSQL without
 * Redis): a persistent session connected gets every message live and stays connected (Aedes's
 * in-memory persistence refuses to update a message it never queued, so it is queued first), one
 * away gets it on its return; messages go out in call order. The two-node version is in
 * cluster-redis.test.ts.
 */
describe('publishLocal on a broker without a backplane', () => {
  let t: TestBroker;
  beforeAll(async () => {
    t = await startBroker();
  });
  afterAll(() => t.close());

  const local = (payload: string, counter: number) =>
    t.broker.publishLocal({ topic: 'devices/ev/telemetry', payload }, { brokerId: 'log', counter });

  it('reaches a connected persistent session in order without closing it, and one away on its return', async () => {
    const live = await t.connect({ ...OPS, clientId: 'ops:live', clean: false });
    await live.subscribeAsync('devices/#', { qos: 1 });
    const got: string[] = [];
    live.on('message', (_t, p) => got.push(p.toString()));
    let closed = false;
    live.on('close', () => { closed = true; });
    await Promise.all([local('e1', 1), local('e2', 2), local('e3', 3)]);
    await vi.waitFor(() => expect(got).toEqual(['e1', 'e2', 'e3']));
    expect(closed).toBe(false);

    const away = await t.connect({ ...OPS, clientId: 'ops:away', clean: false });
    await away.subscribeAsync('devices/#', { qos: 1 });
    await away.endAsync();
    await local('e4', 4);
    const back = mqtt.connect(t.url, { protocolVersion: 4, reconnectPeriod: 0, ...OPS, clientId: 'ops:away', clean: false });
    const received: string[] = [];
    back.on('message', (_t, p) => received.push(p.toString()));
    try {
      await vi.waitFor(() => expect(received).toEqual(['e4']), { timeout: 5_000 });
    } finally {
      back.end(true);
    }
    await vi.waitFor(() => expect(got).toEqual(['e1', 'e2', 'e3', 'e4']));
    expect(closed).toBe(false);
  });
});
