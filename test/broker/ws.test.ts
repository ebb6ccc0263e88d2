import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { INGEST, device, nextMessage, refusal, startBroker } from './harness.js';
import type { TestBroker } from './harness.js';

describe('WebSocket listener', () => {
  let t: TestBroker;
  beforeAll(async () => {
    t = await startBroker();
  });
  afterAll(() => t.close());

  it('carries MQTT over ws:// with the same auth and ACL', async () => {
    const w = await t.connect({ clientId: 'ingest', username: INGEST.username, password: INGEST.password });
    await w.subscribeAsync('devices/+/telemetry', { qos: 1 });
    const d1 = await t.connect(device('d1'), 'ws');
    const got = nextMessage(w, 'devices/d1/telemetry');
    await d1.publishAsync('devices/d1/telemetry', '{"power":1200}', { qos: 1 });
    expect((await got).payload).toBe('{"power":1200}');
    expect(await refusal(t.connect({ clientId: 'd2', username: 'd2', password: 'wrong' }, 'ws'))).toBe(4);
    await Promise.all([w.endAsync(), d1.endAsync()]);
  });

  it('answers plain HTTP with 426 Upgrade Required', async () => {
    const res = await fetch(`http://127.0.0.1:${t.broker.wsPort}/`);
    expect(res.status).toBe(426);
  });

  it('reports real ports and closes without hanging, twice', async () => {
    const other = await startBroker();
    expect(other.broker.tcpPort).toBeGreaterThan(0);
    expect(other.broker.wsPort).toBeGreaterThan(0);
    expect(other.broker.wsPort).not.toBe(other.broker.tcpPort);
    const c = await other.connect(device('d2'));
    const lingering = await other.connect(device('d1'), 'ws');
    expect(c.connected && lingering.connected).toBe(true);
    const started = Date.now();
    await other.broker.close();
    await other.broker.close();
    expect(Date.now() - started).toBeLessThan(2000);
    expect(other.broker.closed).toBe(true);
    await other.close();
  });
});
