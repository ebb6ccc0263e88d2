import mqtt from 'mqtt';
import { pino } from 'pino';
import { Registry } from 'prom-client';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { createBroker, type AnjuBroker, type BrokerConfig } from '../../broker/index.js';
import { DEVICE_SECRETS, INGEST, closedByBroker, device, nextMessage, refusal, startBroker, type TestBroker } from './harness.js';
import { connectPacket, publishPacket, rawClient } from './raw.js';

// MQTT 3.1.1 §3.2.2.3.
const SERVER_UNAVAILABLE = 3;

/**
 * "A PUBACK means the reading is stored", at every moment: before the path behind the broker is
 * attached, while it shuts down, when ingest is missing or fails, and in the `broker` role where
 * ingest is a hub's persistent session. Real Aedes, real mqtt.js clients.
 */
describe('admission: nothing acknowledged that ingest has not taken', () => {
  let t: TestBroker | undefined;
  afterEach(async () => {
    await t?.close();
    t = undefined;
  });

  const publishOutcome = async (client: mqtt.MqttClient, topic: string, payload: string): Promise<'acked' | 'closed'> => {
    const closed = new Promise<'closed'>((r) => client.once('close', () => r('closed')));
    const acked = client.publishAsync(topic, payload, { qos: 1 }).then(() => 'acked' as const, () => new Promise<never>(() => undefined));
    return Promise.race([acked, closed]);
  };

  it('opens no socket before open(): a device cannot even connect while the path is being attached', async () => {
    const registry = new Registry();
    const broker: AnjuBroker = await createBroker(
      { host: '127.0.0.1', port: 0, wsPort: 0, maxFrameBytes: 64 * 1024, connectRatePerMinute: 1000, drainTimeoutMs: 5000 },
      { policy: { authenticateDevice: async () => true, serviceAccount: () => undefined }, logger: pino({ level: 'silent' }), metrics: registry },
    );
    try {
      expect(broker.tcpPort).toBe(0);
      expect(broker.wsPort).toBe(0);
      broker.interceptPublish(['devices/+/telemetry'], async () => undefined);
      await broker.open();
      expect(broker.tcpPort).toBeGreaterThan(0);
      const c = await mqtt.connectAsync(`mqtt://127.0.0.1:${broker.tcpPort}`, { protocolVersion: 4, clientId: 'd1', username: 'd1', password: 'x', reconnectPeriod: 0 });
      await c.publishAsync('devices/d1/telemetry', '{}', { qos: 1 });
      await c.endAsync();
    } finally {
      await broker.close();
    }
  });

  it('answers CONNACK 3 and refuses telemetry while no ingest is attached — never a PUBACK', async () => {
    t = await startBroker({}, { ingest: false });
    expect(await refusal(t.connect(device('d1')))).toBe(SERVER_UNAVAILABLE);
    expect(await t.metric('anju_broker_connections_refused_total', { reason: 'unavailable' })).toBe(1);

    // Attached, a device connects; detached again (ingest stopping), its next publish is refused.
    const remove = t.broker.interceptPublish(['devices/+/telemetry'], async () => undefined);
    const d1 = await t.connect(device('d1'));
    expect(await publishOutcome(d1, 'devices/d1/telemetry', '{"smoke":0.01}')).toBe('acked');
    remove();
    expect(await publishOutcome(d1, 'devices/d1/telemetry', '{"smoke":0.02}')).toBe('closed');
    expect(await t.metric('anju_broker_publishes_refused_total', { reason: 'unavailable' })).toBe(1);
  });

  it('treats an interceptor that throws (instead of rejecting) as a refusal; the broker stays up', async () => {
    t = await startBroker({}, { ingest: false });
    let calls = 0;
    t.broker.interceptPublish(['devices/+/telemetry'], (() => {
      calls += 1;
      throw new Error('consumer bug');
    }) as never);
    const d1 = await t.connect(device('d1'));
    expect(await publishOutcome(d1, 'devices/d1/telemetry', '{}')).toBe('closed');
    expect(calls).toBe(1);
    expect(await t.metric('anju_broker_publishes_refused_total', { reason: 'ingest_refused' })).toBe(1);
    // Still serving.
    const d2 = await t.connect(device('d2'));
    expect(d2.connected).toBe(true);
  });

  it('answers publishes that share one outcome (a spool group commit) each by that outcome, interleaved ones by their own', async () => {
    t = await startBroker({}, { ingest: false, authenticateDevice: async () => true });
    // Outcomes handed out in turn: a, a, b, a, b — one promise per group, as ingest answers a group commit.
    let settle: Record<'a' | 'b', { ok: () => void; fail: (e: Error) => void }> | undefined;
    const a = new Promise<void>((ok, fail) => { settle = { ...settle!, a: { ok, fail } }; });
    const b = new Promise<void>((ok, fail) => { settle = { ...settle!, b: { ok, fail } }; });
    const order = [a, a, b, a, b];
    let calls = 0;
    t.broker.interceptPublish(['devices/+/telemetry'], () => order[calls++]!);
    const clients = await Promise.all(['d1', 'd2', 'd3', 'd4', 'd5'].map((id) => t!.connect(device(id))));
    const outcomes = clients.map((c, i) => publishOutcome(c, `devices/d${i + 1}/telemetry`, '{}'));
    await vi.waitFor(() => expect(calls).toBe(5));
    settle!.b.fail(new Error('spool write failed'));
    settle!.a.ok();
    expect(await Promise.all(outcomes)).toEqual(['acked', 'acked', 'closed', 'acked', 'closed']);
    expect(await t.metric('anju_broker_publishes_refused_total', { reason: 'ingest_refused' })).toBe(2);
  });

  it('on close: publishes in flight get their PUBACK, new ones and new CONNECTs are refused, then everyone is disconnected', async () => {
    t = await startBroker({}, { ingest: false });
    const release: Array<() => void> = [];
    const taken: string[] = [];
    t.broker.interceptPublish(['devices/+/telemetry'], async (m) => {
      await new Promise<void>((r) => release.push(r));
      taken.push(m.payload.toString());
    });
    const d1 = await t.connect(device('d1'));
    const d2 = await t.connect(device('d2'));
    let inFlightAcked = false;
    const inFlight = d1.publishAsync('devices/d1/telemetry', 'first', { qos: 1 }).then(() => { inFlightAcked = true; });
    await vi.waitFor(() => expect(release).toHaveLength(1));

    const closing = t.broker.close();
    // While closing: a new publish is refused, a new CONNECT gets code 3.
    expect(await publishOutcome(d2, 'devices/d2/telemetry', 'late')).toBe('closed');
    const late = mqtt.connectAsync(t.url, { ...device('d1-x'), protocolVersion: 4, reconnectPeriod: 0, connectTimeout: 3000 });
    expect(await refusal(late)).toBe(SERVER_UNAVAILABLE);
    expect(inFlightAcked).toBe(false);

    release[0]?.();
    await inFlight;
    expect(inFlightAcked).toBe(true);
    await closing;
    await closedByBroker(d1);
    expect(taken).toEqual(['first']);
  });

  it('publishes no presence while stopping: neither the broker’s offline nor the devices’ Wills', async () => {
    t = await startBroker();
    const seen: string[] = [];
    t.broker.onPresence((id, status) => seen.push(`${id}=${status}`));
    const w = await t.connect({ clientId: 'ingest', username: INGEST.username, password: INGEST.password });
    await w.subscribeAsync('devices/+/status', { qos: 1 });
    const online = nextMessage(w, 'devices/d1/status');
    await t.connect(device('d1', { will: { topic: 'devices/d1/status', payload: Buffer.from('offline'), qos: 1, retain: true } }));
    expect((await online).payload).toBe('online');
    await vi.waitFor(() => expect(seen).toEqual(['d1=online']));
    const statuses: string[] = [];
    w.on('message', (topic, payload) => statuses.push(`${topic}=${payload.toString()}`));
    await t.broker.close();
    expect(seen).toEqual(['d1=online']);
    expect(statuses).toEqual([]);
  });

  it('broker role (ingest over MQTT): telemetry is refused until a persistent QoS 1 session subscribes to it', async () => {
    const ingest: BrokerConfig['ingest'] = { via: 'subscribers', topics: ['devices/+/telemetry'] };
    t = await startBroker({ ingest }, { ingest: false });
    const d1 = await t.connect(device('d1'));
    // Nobody would keep it: refused, not acknowledged into the void.
    expect(await publishOutcome(d1, 'devices/d1/telemetry', '{"smoke":0.01}')).toBe('closed');
    expect(await t.metric('anju_broker_publishes_refused_total', { reason: 'unavailable' })).toBe(1);

    // A clean-session subscriber does not count: its subscription ends with its connection.
    const clean = await t.connect({ clientId: 'ingest:clean', username: INGEST.username, password: INGEST.password });
    await clean.subscribeAsync('devices/+/telemetry', { qos: 1 });
    const d1b = await t.connect(device('d1'));
    expect(await publishOutcome(d1b, 'devices/d1/telemetry', '{"smoke":0.02}')).toBe('closed');
    await clean.endAsync();

    // The hub's persistent session: accepted, and queued for it while it is offline (§3.1.2.4).
    const hub = await t.connect({ clientId: 'ingest:hub', username: INGEST.username, password: INGEST.password, clean: false });
    await hub.subscribeAsync('devices/+/telemetry', { qos: 1 });
    await hub.endAsync();
    const d1c = await t.connect(device('d1'));
    expect(await publishOutcome(d1c, 'devices/d1/telemetry', '{"smoke":0.03}')).toBe('acked');
    const back = await t.connect({ clientId: 'ingest:hub', username: INGEST.username, password: INGEST.password, clean: false });
    const queued = await nextMessage(back, 'devices/d1/telemetry');
    expect(queued.payload).toBe('{"smoke":0.03}');
  });

  it('refuses a raw-socket PUBLISH sent right behind a CONNECT that gets code 3', async () => {
    t = await startBroker({}, { ingest: false });
    const raw = await rawClient(t.broker.tcpPort);
    // CONNECT immediately followed by a QoS 1 PUBLISH, in one write: no PUBACK may come back.
    raw.send(Buffer.concat([connectPacket({ clientId: 'd1', username: 'd1', password: DEVICE_SECRETS.d1 ?? '' }), publishPacket('devices/d1/telemetry', '{}', 1)]));
    await raw.closed();
    expect([...raw.received()]).toEqual([0x20, 0x02, 0x00, SERVER_UNAVAILABLE]);
  });
});
