import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mayPublish, maySubscribe } from '../../broker/index.js';
import type { ServiceAccount } from '../../broker/index.js';
import { BMS, INGEST, OPS, closedByBroker, device, granted, nextMessage, startBroker } from './harness.js';
import type { TestBroker } from './harness.js';

const SUBACK_FAILURE = 128; // MQTT 3.1.1 §3.9.3

describe('broker ACL over MQTT', () => {
  let t: TestBroker;
  beforeAll(async () => {
    t = await startBroker();
  });
  afterAll(() => t.close());

  const ingest = (clientId = 'ingest') => t.connect({ clientId, username: INGEST.username, password: INGEST.password });

  it("closes a device publishing on another device's topic; subscribers never see it", async () => {
    const watcher = await ingest();
    await watcher.subscribeAsync('devices/+/telemetry', { qos: 1 });
    const seen: string[] = [];
    watcher.on('message', (topic, payload) => seen.push(`${topic} ${payload.toString()}`));

    const d1 = await t.connect(device('d1'));
    const d2 = await t.connect(device('d2'));
    d1.publish('devices/d2/telemetry', '{"forged":true}', { qos: 0 });
    await closedByBroker(d1);
    // A legitimate message published after the forged one arrives; the forged one never does.
    const legit = nextMessage(watcher, 'devices/d2/telemetry');
    await d2.publishAsync('devices/d2/telemetry', '{"fill":40}', { qos: 1 });
    expect((await legit).payload).toBe('{"fill":40}');
    expect(seen).toEqual(['devices/d2/telemetry {"fill":40}']);
    expect(await t.metric('anju_broker_acl_denied_total', { action: 'publish' })).toBe(1);
    await Promise.all([watcher.endAsync(), d2.endAsync()]);
  });

  it('refuses anything under its own subtree but its telemetry and status channels — never acknowledged and dropped', async () => {
    const before = await t.metric('anju_broker_acl_denied_total', { action: 'publish' });
    const typos = ['devices/d1/Telemetry', 'devices/d1/telemetry/x', 'devices/d1/data', 'devices/d1/telemetry/', 'devices/d1/commands/ack', 'devices/d1'];
    for (const topic of typos) {
      const d1 = await t.connect(device('d1'));
      const closed = closedByBroker(d1);
      let acked = false;
      void d1.publishAsync(topic, '{"smoke":0.01}', { qos: 1 }).then(() => { acked = true; }, () => undefined);
      await closed;
      expect(acked, topic).toBe(false);
    }
    expect(await t.metric('anju_broker_acl_denied_total', { action: 'publish' })).toBe(before + typos.length);
  });

  it('lets a device publish on its own telemetry channel', async () => {
    const watcher = await ingest();
    await watcher.subscribeAsync('devices/d1/telemetry', { qos: 1 });
    const d1 = await t.connect(device('d1'));
    const got = nextMessage(watcher, 'devices/d1/telemetry');
    await d1.publishAsync('devices/d1/telemetry', '{"smoke":0.01}', { qos: 1 });
    expect((await got).payload).toBe('{"smoke":0.01}');
    expect(d1.connected).toBe(true);
    await Promise.all([watcher.endAsync(), d1.endAsync()]);
  });

  it("grants a device its own commands and refuses another device's (SUBACK 0x80)", async () => {
    const d1 = await t.connect(device('d1'));
    expect(await granted(d1, ['devices/d2/commands/#', 'devices/d1/commands/#', 'devices/d1/commands', 'devices/d1/telemetry', '#'])).toEqual([SUBACK_FAILURE, 1, 1, SUBACK_FAILURE, SUBACK_FAILURE]);
    // Refusal keeps the connection (§3.9.3), and the granted filter works.
    expect(d1.connected).toBe(true);
    const got = nextMessage(d1, 'devices/d1/commands/reboot');
    void t.broker.publish({ topic: 'devices/d1/commands/reboot', payload: 'now', qos: 0, retain: false });
    expect((await got).payload).toBe('now');
    await d1.endAsync();
  });

  it('$SYS: a publish closes the connection, a device subscribe is refused', async () => {
    const d1 = await t.connect(device('d1'));
    expect(await granted(d1, '$SYS/#')).toEqual([SUBACK_FAILURE]);
    d1.publish('$SYS/fake/heartbeat', 'x');
    await closedByBroker(d1);

    const svc = await ingest();
    svc.publish('$SYS/fake/heartbeat', 'x');
    await closedByBroker(svc);
  });

  it('gives a service account exactly its patterns', async () => {
    const svc = await ingest();
    expect(await granted(svc, ['devices/+/telemetry', 'devices/d2/telemetry', '#', 'devices/#', '$SYS/#'])).toEqual([1, 1, SUBACK_FAILURE, SUBACK_FAILURE, SUBACK_FAILURE]);
    const d2 = await t.connect(device('d2'));
    const got = nextMessage(svc, 'devices/d2/telemetry');
    await d2.publishAsync('devices/d2/telemetry', '{"volume":1.5}', { qos: 1 });
    expect((await got).payload).toBe('{"volume":1.5}');
    // It may publish alerts, not telemetry in a device's name.
    await svc.publishAsync('anju/alerts/s1/fire', '{}', { qos: 1 });
    expect(svc.connected).toBe(true);
    svc.publish('devices/d2/telemetry', '{"volume":0}');
    await closedByBroker(svc);
    await d2.endAsync();
  });

  it('lets a service account subscribe to $SYS only when a pattern names it', async () => {
    const ops = await t.connect({ clientId: 'ops', username: OPS.username, password: OPS.password });
    expect(await granted(ops, '$SYS/+/new/clients', 0)).toEqual([0]);
    const announced = new Promise<string>((resolve) => ops.on('message', (topic, payload) => topic.endsWith('/new/clients') && resolve(payload.toString())));
    const d2 = await t.connect(device('d2', { clientId: 'd2:sys' }));
    expect(await announced).toBe('d2:sys');
    await Promise.all([ops.endAsync(), d2.endAsync()]);
  });
});

describe('service-account deny filters win over publish and subscribe', () => {
  let t: TestBroker;
  beforeAll(async () => {
    t = await startBroker();
  });
  afterAll(() => t.close());

  it('withholds denied topics from a granted wider subscription, refuses subscriptions inside a deny filter', async () => {
    const bms = await t.connect({ clientId: 'bms', username: BMS.username, password: BMS.password });
    expect(await granted(bms, ['devices/#', 'devices/d2/#', 'devices/d2/telemetry', 'devices/d1/telemetry'])).toEqual([1, SUBACK_FAILURE, SUBACK_FAILURE, 1]);
    const seen: string[] = [];
    bms.on('message', (topic) => seen.push(topic));
    const d1 = await t.connect(device('d1'));
    const d2 = await t.connect(device('d2'));
    await d2.publishAsync('devices/d2/telemetry', '{"fill":1}', { qos: 1 });
    const got = nextMessage(bms, 'devices/d1/telemetry');
    await d1.publishAsync('devices/d1/telemetry', '{"smoke":0.01}', { qos: 1 });
    await got;
    // d1's message came on the same connection after d2's would have: d2's (and its status) was withheld.
    expect(seen).toContain('devices/d1/telemetry');
    expect(seen.filter((topic) => topic.startsWith('devices/d2/'))).toEqual([]);
    await Promise.all([d1.endAsync(), d2.endAsync()]);
  });

  it('refuses a publish a deny filter matches, even inside its publish filters', async () => {
    const bms = await t.connect({ clientId: 'bms:cmd', username: BMS.username, password: BMS.password });
    await bms.publishAsync('devices/d1/commands/silence', '{}', { qos: 1 });
    expect(bms.connected).toBe(true);
    bms.publish('devices/d1/commands/reboot', '{}', { qos: 1 });
    await closedByBroker(bms);
  });
});

describe('ACL decisions', () => {
  const account: ServiceAccount = { username: 'bridge', passwordHash: '', publish: ['anju/alerts/+/+'], subscribe: ['devices/+/telemetry', 'anju/#'] };
  const d1 = { kind: 'device', deviceId: 'd1' } as const;
  const svc = { kind: 'service', account } as const;

  it('devices publish on their own telemetry and status channels only', () => {
    expect(mayPublish(d1, 'devices/d1/telemetry')).toBe(true);
    expect(mayPublish(d1, 'devices/d1/status')).toBe(true);
    expect(mayPublish(d1, 'devices/d1')).toBe(false);
    expect(mayPublish(d1, 'devices/d1/Telemetry')).toBe(false);
    expect(mayPublish(d1, 'devices/d1/telemetry/')).toBe(false);
    expect(mayPublish(d1, 'devices/d1/status/x')).toBe(false);
    expect(mayPublish(d1, 'devices/d10/telemetry')).toBe(false);
    expect(mayPublish(d1, 'devices/d2/telemetry')).toBe(false);
    expect(mayPublish(d1, '$SYS/x')).toBe(false);
  });

  it('devices subscribe within devices/{id}/commands/#', () => {
    expect(maySubscribe(d1, 'devices/d1/commands/#')).toBe(true);
    expect(maySubscribe(d1, 'devices/d1/commands/+')).toBe(true);
    expect(maySubscribe(d1, 'devices/d1/commands')).toBe(true);
    expect(maySubscribe(d1, 'devices/+/commands/#')).toBe(false);
    expect(maySubscribe(d1, 'devices/d1/#')).toBe(false);
  });

  it('service accounts get their patterns and never $SYS by wildcard', () => {
    expect(mayPublish(svc, 'anju/alerts/s1/fire')).toBe(true);
    expect(mayPublish(svc, 'anju/alerts/s1')).toBe(false);
    expect(maySubscribe(svc, 'devices/a/telemetry')).toBe(true);
    expect(maySubscribe(svc, 'devices/+/status')).toBe(false);
    expect(maySubscribe(svc, 'anju/alerts/#')).toBe(true);
    expect(maySubscribe({ kind: 'service', account: { ...account, subscribe: ['#'] } }, '$SYS/#')).toBe(false);
    expect(maySubscribe({ kind: 'service', account: { ...account, subscribe: ['$SYS/#'] } }, '$SYS/+/heartbeat')).toBe(true);
  });

  it('deny filters win', () => {
    const gate = { kind: 'service', account: { ...account, publish: ['devices/#'], subscribe: ['devices/#'], deny: ['devices/+/commands/#'] } } as const;
    expect(mayPublish(gate, 'devices/a/telemetry')).toBe(true);
    expect(mayPublish(gate, 'devices/a/commands/open')).toBe(false);
    expect(maySubscribe(gate, 'devices/#')).toBe(true); // overlaps the deny filter: granted, filtered at delivery
    expect(maySubscribe(gate, 'devices/a/commands/#')).toBe(false);
    expect(maySubscribe(gate, 'devices/+/commands/open')).toBe(false);
  });
});
