import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { DEVICE_SECRETS, INGEST, startBroker, type TestBroker } from './harness.js';

/** "PUBACK means durable": the broker acknowledges a QoS 1 PUBLISH only once ingest has taken it. */
describe('publish interception before the PUBACK', () => {
  let t: TestBroker;
  beforeEach(async () => { t = await startBroker({}, { ingest: false }); });
  afterEach(async () => { await t.close(); });

  const device = () => t.connect({ clientId: 'd1', username: 'd1', password: DEVICE_SECRETS.d1 });

  it('holds the PUBACK until the interceptor resolves', async () => {
    let release!: () => void;
    const seen: string[] = [];
    t.broker.interceptPublish(['devices/+/telemetry'], async (m) => {
      seen.push(`${m.clientId} ${m.topic} ${m.payload.toString()} q${m.qos}`);
      await new Promise<void>((r) => { release = r; });
    });
    const client = await device();
    let acked = false;
    const publish = client.publishAsync('devices/d1/telemetry', '{"smoke":0.01}', { qos: 1 }).then(() => { acked = true; });
    await vi.waitFor(() => expect(seen).toEqual(['d1 devices/d1/telemetry {"smoke":0.01} q1']));
    // The marker: a full round trip of another connection through the broker, started after the
    // interceptor took the message. A PUBACK sent without waiting would have been written first.
    const other = await t.connect({ clientId: 'd2', username: 'd2', password: DEVICE_SECRETS.d2 });
    await other.publishAsync('devices/d2/status', 'online', { qos: 1 });
    expect(acked).toBe(false);
    release();
    await publish;
    expect(acked).toBe(true);
  });

  it('closes the connection without a PUBACK when the interceptor refuses, and delivers nothing', async () => {
    t.broker.interceptPublish(['devices/+/telemetry'], async () => { throw new Error('spool full'); });
    const watcher = await t.connect({ clientId: 'ingest:w', username: INGEST.username, password: INGEST.password });
    const delivered: string[] = [];
    watcher.on('message', (topic) => delivered.push(topic));
    await watcher.subscribeAsync(['devices/+/telemetry', 'devices/d2/status'], { qos: 1 });
    const client = await device();
    const closed = new Promise<void>((r) => client.once('close', () => r()));
    let acked = false;
    void client.publishAsync('devices/d1/telemetry', '{"smoke":0.01}', { qos: 1 }).then(() => { acked = true; }, () => {});
    await closed;
    // The marker: another device's message, sent after the refusal, reaches the same watcher; a
    // forwarded copy of the refused reading would have reached it first.
    const other = await t.connect({ clientId: 'd2', username: 'd2', password: DEVICE_SECRETS.d2 });
    await other.publishAsync('devices/d2/status', 'online', { qos: 1 });
    await vi.waitFor(() => expect(delivered).toContain('devices/d2/status'));
    expect(acked).toBe(false);
    expect(delivered.filter((topic) => topic.endsWith('/telemetry'))).toEqual([]);
    expect(await t.metric('anju_broker_publishes_refused_total', { reason: 'ingest_refused' })).toBe(1);
  });

  it('does not intercept other topics, and only one interceptor may be installed', async () => {
    const seen: string[] = [];
    t.broker.interceptPublish(['devices/+/telemetry'], async (m) => { seen.push(m.topic); });
    expect(() => t.broker.interceptPublish(['#'], async () => {})).toThrow(/already installed/);
    const client = await device();
    await client.publishAsync('devices/d1/status', 'online', { qos: 1, retain: true });
    await client.publishAsync('devices/d1/telemetry', '{}', { qos: 1 });
    expect(seen).toEqual(['devices/d1/telemetry']);
  });
});
