import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { requireBinary, run } from '../helpers/servers.js';
import { DEVICE_SECRETS, INGEST, closedByBroker, device, nextMessage, refusal, startBroker, type TestBroker } from './harness.js';
import { connectPacket, packet, publishPacket, rawClient, subscribePacket } from './raw.js';

const mosquittoPub = requireBinary('mosquitto_pub', 'mosquitto-clients');

/** A CONNACK (§3.2): 0x20, length 2, session present, return code. */
const connack = (code: number) => [0x20, 0x02, 0x00, code];

/** MQTT 3.1.1 at its edges, with the clauses each case comes from. */
describe('MQTT 3.1.1 edges', () => {
  let t: TestBroker;
  beforeAll(async () => {
    t = await startBroker();
  });
  afterAll(() => t.close());

  const d1 = { clientId: 'd1', username: 'd1', password: DEVICE_SECRETS.d1 ?? '' };

  describe('§3.1.2.10 Keep Alive: every value from 0 (off) to 65,535 s is accepted', () => {
    for (const keepalive of [0, 1, 3600, 3601, 65_535]) {
      it(`keep-alive ${keepalive}: CONNACK 0`, async () => {
        const raw = await rawClient(t.broker.tcpPort);
        raw.send(connectPacket({ ...d1, clientId: `d1:ka${keepalive}`, keepalive }));
        expect([...(await raw.bytes(4)).subarray(0, 4)]).toEqual(connack(0));
        raw.end();
      });
    }

    it('through mqtt.js as well, and the connection then carries telemetry', async () => {
      for (const keepalive of [0, 65_535]) {
        const c = await t.connect(device('d1', { keepalive }));
        await c.publishAsync('devices/d1/telemetry', '{"smoke":0.01}', { qos: 1 });
        await c.endAsync();
      }
    });
  });

  it('§3.2.2.3: only return codes 0–5 are ever sent (6–255 are reserved)', async () => {
    const cases: Array<{ what: string; bytes: Buffer; code: number }> = [
      { what: 'accepted', bytes: connectPacket({ ...d1, clientId: 'd1:codes' }), code: 0 },
      { what: 'protocol level 5 (MQTT 5)', bytes: connectPacket({ ...d1, level: 5 }), code: 1 },
      { what: 'a client id of another device', bytes: connectPacket({ ...d1, clientId: 'd2' }), code: 2 },
      { what: 'wrong password', bytes: connectPacket({ ...d1, password: 'nope' }), code: 4 },
      { what: 'unknown user', bytes: connectPacket({ clientId: 'ghost', username: 'ghost', password: 'x' }), code: 4 },
      { what: 'keep-alive 0', bytes: connectPacket({ ...d1, keepalive: 0 }), code: 0 },
      { what: 'keep-alive 65535', bytes: connectPacket({ ...d1, keepalive: 65_535 }), code: 0 },
    ];
    for (const c of cases) {
      const raw = await rawClient(t.broker.tcpPort);
      raw.send(c.bytes);
      const got = [...(await raw.bytes(4)).subarray(0, 4)];
      expect(got, c.what).toEqual(connack(c.code));
      raw.end();
    }
  });

  describe('§1.5.3 / §4.7.3: ill-formed UTF-8 or U+0000 in a string closes the connection', () => {
    const bad: Array<[string, Buffer]> = [
      ['U+0000', Buffer.from('devices/d1/tele\u0000metry', 'utf8')],
      ['a lone 0xFF byte', Buffer.concat([Buffer.from('devices/d1/tele'), Buffer.from([0xff]), Buffer.from('metry')])],
      ['an overlong encoding of "/" (C0 AF)', Buffer.concat([Buffer.from('devices'), Buffer.from([0xc0, 0xaf]), Buffer.from('d1/telemetry')])],
      ['a UTF-16 surrogate (ED A0 80)', Buffer.concat([Buffer.from('devices/d1/'), Buffer.from([0xed, 0xa0, 0x80])])],
      ['a truncated sequence (E6 97)', Buffer.concat([Buffer.from('devices/d1/'), Buffer.from([0xe6, 0x97])])],
    ];

    for (const [what, topic] of bad) {
      it(`PUBLISH topic with ${what}`, async () => {
        const before = await t.metric('anju_broker_connections_refused_total', { reason: 'invalid_string' });
        const raw = await rawClient(t.broker.tcpPort);
        raw.send(connectPacket(d1));
        await raw.bytes(4);
        raw.send(publishPacket(topic, '{"smoke":0.01}', 1));
        await raw.closed();
        // The CONNACK and nothing else: no PUBACK.
        expect([...raw.received()]).toEqual(connack(0));
        expect(await t.metric('anju_broker_connections_refused_total', { reason: 'invalid_string' })).toBe(before + 1);
      });
    }

    it('a topic split across TCP segments is still checked', async () => {
      const raw = await rawClient(t.broker.tcpPort);
      raw.send(connectPacket(d1));
      await raw.bytes(4);
      const bytes = publishPacket(Buffer.from('devices/d1/tele\u0000metry'), '{}', 1);
      for (let i = 0; i < bytes.length; i++) {
        raw.send(bytes.subarray(i, i + 1));
        await new Promise((r) => setImmediate(r));
      }
      await raw.closed();
      expect([...raw.received()]).toEqual(connack(0));
    });

    it('SUBSCRIBE filter, client id and user name too (before any CONNACK for the last two)', async () => {
      const sub = await rawClient(t.broker.tcpPort);
      sub.send(connectPacket({ clientId: 'ingest', username: INGEST.username, password: INGEST.password }));
      await sub.bytes(4);
      sub.send(subscribePacket(Buffer.from('devices/+/\u0000')));
      await sub.closed();
      expect([...sub.received()]).toEqual(connack(0));

      const id = await rawClient(t.broker.tcpPort);
      id.send(connectPacket({ ...d1, clientId: Buffer.from([0x64, 0x31, 0xff]) }));
      await id.closed();
      expect(id.received().length).toBe(0);

      const user = await rawClient(t.broker.tcpPort);
      user.send(connectPacket({ ...d1, username: Buffer.from([0x64, 0x00]) }));
      await user.closed();
      expect(user.received().length).toBe(0);
    });

    it('well-formed non-ASCII topics are fine', async () => {
      // 告警 and 烟感 are three-byte UTF-8 sequences; the ingest account may publish under anju/.
      const raw = await rawClient(t.broker.tcpPort);
      raw.send(connectPacket({ clientId: 'ingest:utf8', username: INGEST.username, password: INGEST.password }));
      await raw.bytes(4);
      raw.send(publishPacket('anju/告警/烟感', '{}', 1));
      // CONNACK then PUBACK (0x40, 2, id 0x0001).
      expect([...(await raw.bytes(8)).subarray(0, 8)]).toEqual([...connack(0), 0x40, 0x02, 0x00, 0x01]);
      raw.end();
    });
  });

  describe('retained messages from devices (§3.3.1.3) are bounded: status only, online or offline', () => {
    it('refuses retained telemetry (connection closed, no PUBACK, nothing retained)', async () => {
      const c = await t.connect(device('d1'));
      const closed = closedByBroker(c);
      let acked = false;
      void c.publishAsync('devices/d1/telemetry', `{"smoke":0.01,"pad":"${'x'.repeat(30_000)}"}`, { qos: 1, retain: true }).then(() => { acked = true; }, () => undefined);
      await closed;
      expect(acked).toBe(false);
      expect(await t.metric('anju_broker_publishes_refused_total', { reason: 'retain' })).toBeGreaterThanOrEqual(1);
      // A new subscriber gets no retained telemetry.
      const w = await t.connect({ clientId: 'ingest:retained', username: INGEST.username, password: INGEST.password });
      const got: string[] = [];
      w.on('message', (topic) => got.push(topic));
      await w.subscribeAsync(['devices/d1/telemetry', 'devices/d2/telemetry'], { qos: 1 });
      // One connection keeps order: a retained message would arrive before this later one.
      const d2 = await t.connect(device('d2'));
      const marker = nextMessage(w, 'devices/d2/telemetry');
      await d2.publishAsync('devices/d2/telemetry', '{"fill":1}', { qos: 1 });
      await marker;
      expect(got).toEqual(['devices/d2/telemetry']);
      await d2.endAsync();
      await w.endAsync();
    });

    it('accepts a retained online/offline status, refuses anything else there', async () => {
      const ok = await t.connect(device('d2'));
      await ok.publishAsync('devices/d2/status', 'online', { qos: 1, retain: true });
      expect(ok.connected).toBe(true);
      const before = await t.metric('anju_broker_publishes_refused_total', { reason: 'bad_status' });
      const closed = closedByBroker(ok);
      ok.publish('devices/d2/status', 'x'.repeat(10_000), { qos: 1, retain: true });
      await closed;
      expect(await t.metric('anju_broker_publishes_refused_total', { reason: 'bad_status' })).toBe(before + 1);
    });

    it('refuses at CONNECT a Will that would be retained telemetry or a status other than online/offline (code 5)', async () => {
      const telemetryWill = { topic: 'devices/d1/telemetry', payload: Buffer.from('{}'), qos: 1 as const, retain: true };
      expect(await refusal(t.connect(device('d1', { will: telemetryWill })))).toBe(5);
      const badStatus = { topic: 'devices/d1/status', payload: Buffer.from('dead'), qos: 1 as const, retain: true };
      expect(await refusal(t.connect(device('d1', { will: badStatus })))).toBe(5);
      const fine = await t.connect(device('d1', { will: { ...badStatus, payload: Buffer.from('offline') } }));
      await fine.endAsync();
    });
  });

  describe.skipIf(mosquittoPub.skip)(`with Debian's mosquitto_pub ${mosquittoPub.skip ?? ''}`, () => {
    const pub = (args: string[], timeoutMs?: number) =>
      run(mosquittoPub.path as string, ['-h', '127.0.0.1', '-p', String(t.broker.tcpPort), '-V', 'mqttv311', '-u', 'd1', '-P', DEVICE_SECRETS.d1 ?? '', ...args], timeoutMs);

    it('a retained telemetry publish never gets its PUBACK; a plain one does', async () => {
      const before = await t.metric('anju_broker_publishes_refused_total', { reason: 'retain' });
      // mosquitto_pub reconnects and resends an unacknowledged QoS 1 message until it is stopped.
      const retained = await pub(['-i', 'd1:mp1', '-q', '1', '-r', '-t', 'devices/d1/telemetry', '-m', '{"smoke":0.01}'], 3_000);
      expect(retained.status).not.toBe(0);
      expect(await t.metric('anju_broker_publishes_refused_total', { reason: 'retain' })).toBeGreaterThan(before);
      const plain = await pub(['-i', 'd1:mp2', '-q', '1', '-t', 'devices/d1/telemetry', '-m', '{"smoke":0.01}']);
      expect(plain.status, plain.stderr).toBe(0);
    });

    it('a mistyped channel never gets its PUBACK (refused by the ACL, not acknowledged and dropped)', async () => {
      const before = await t.metric('anju_broker_acl_denied_total', { action: 'publish' });
      const typo = await pub(['-i', 'd1:mp3', '-q', '1', '-t', 'devices/d1/Telemetry', '-m', '{"smoke":0.01}'], 3_000);
      expect(typo.status).not.toBe(0);
      expect(await t.metric('anju_broker_acl_denied_total', { action: 'publish' })).toBeGreaterThan(before);
    });

    it('keep-alive 65535 is accepted (mosquitto_pub itself will not send 0)', async () => {
      const r = await pub(['-i', 'd1:k', '-k', '65535', '-q', '1', '-t', 'devices/d1/telemetry', '-m', '{"smoke":0.01}']);
      expect(r.status, r.stderr).toBe(0);
    });
  });

  it('a client sending the reserved packet type 15 is disconnected (§2.2.1)', async () => {
    const raw = await rawClient(t.broker.tcpPort);
    raw.send(connectPacket(d1));
    await raw.bytes(4);
    raw.send(packet(0xf0, Buffer.alloc(0)));
    await raw.closed();
    expect([...raw.received()]).toEqual(connack(0));
  });
});
