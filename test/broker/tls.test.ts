import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { createServer as createTlsServer } from 'node:tls';
import mqtt from 'mqtt';
import type { IClientOptions, MqttClient } from 'mqtt';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { requireBinary, run } from '../helpers/servers.js';
import { handshake, makeCa, makeCert, openssl, type Pem } from '../helpers/tls.js';
import { DEVICE_SECRETS, INGEST, device, nextMessage, refusal, startBroker, type TestBroker } from './harness.js';

const mosquittoPub = requireBinary('mosquitto_pub', 'mosquitto-clients');
const mosquittoSub = requireBinary('mosquitto_sub', 'mosquitto-clients');

/**
 * MQTT over TLS and over secure WebSocket with real certificates (openssl) and real clients:
 * mqtt.js, Debian's mosquitto_pub/mosquitto_sub as third-party clients, Node's TLS client for the
 * protocol floor. Same auth and ACL as plaintext; device client certificates as the identity.
 */
describe.skipIf(openssl.skip)(`TLS listeners ${openssl.skip ?? ''}`, () => {
  let dir: string;
  let ca: Pem;
  let server: Pem;
  let otherCa: Pem;
  const clients = new Set<MqttClient>();

  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'anju-tls-'));
    ca = makeCa(dir, 'ca');
    otherCa = makeCa(dir, 'other-ca');
    server = makeCert(dir, ca, 'server', { cn: 'localhost', use: 'server' });
  });
  afterAll(async () => {
    await Promise.all([...clients].map((c) => c.endAsync(true)));
    rmSync(dir, { recursive: true, force: true });
  });

  async function connect(url: string, opts: IClientOptions): Promise<MqttClient> {
    const c = await mqtt.connectAsync(url, { protocolVersion: 4, reconnectPeriod: 0, connectTimeout: 5000, ca: ca.cert, servername: 'localhost', ...opts }, false);
    clients.add(c);
    return c;
  }

  describe('with passwords, plaintext switched off', () => {
    let t: TestBroker;
    beforeAll(async () => {
      t = await startBroker({ plaintext: false, tls: { port: 0, wsPort: 0, context: { cert: server.cert, key: server.key }, clientCerts: 'none' } });
    });
    afterAll(() => t.close());

    it('listens on TLS only: no plaintext port is open', () => {
      expect(t.broker.tlsPort).toBeGreaterThan(0);
      expect(t.broker.wssPort).toBeGreaterThan(0);
      expect(t.broker.tcpPort).toBe(0);
      expect(t.broker.wsPort).toBe(0);
    });

    it('carries mqtts:// and wss:// with the same auth and ACL as plaintext', async () => {
      const ingest = await connect(`mqtts://127.0.0.1:${t.broker.tlsPort}`, { clientId: 'ingest', username: INGEST.username, password: INGEST.password });
      await ingest.subscribeAsync('devices/+/telemetry', { qos: 1 });
      const d1 = await connect(`mqtts://127.0.0.1:${t.broker.tlsPort}`, device('d1'));
      const got = nextMessage(ingest, 'devices/d1/telemetry');
      await d1.publishAsync('devices/d1/telemetry', '{"power":1}', { qos: 1 });
      expect((await got).payload).toBe('{"power":1}');

      const d2 = await connect(`wss://127.0.0.1:${t.broker.wssPort}/mqtt`, device('d2'));
      const got2 = nextMessage(ingest, 'devices/d2/telemetry');
      await d2.publishAsync('devices/d2/telemetry', '{"power":2}', { qos: 1 });
      expect((await got2).payload).toBe('{"power":2}');

      expect(await refusal(connect(`mqtts://127.0.0.1:${t.broker.tlsPort}`, { clientId: 'd3', username: 'd3', password: 'wrong' }))).toBe(4);
      expect(await refusal(connect(`wss://127.0.0.1:${t.broker.wssPort}/mqtt`, { clientId: 'd3', username: 'd3', password: 'wrong' }))).toBe(4);
      // The ACL is the listener's business no more than the password is: another device's topic closes the connection.
      const closed = new Promise<void>((resolve) => d1.once('close', () => resolve()));
      d1.publish('devices/d2/telemetry', '{"power":3}', { qos: 1 });
      await closed;
    });

    it('refuses a client that does not trust the certificate, and TLS 1.0 and 1.1', async () => {
      expect(await refusal(connect(`mqtts://127.0.0.1:${t.broker.tlsPort}`, { ...device('d1'), ca: otherCa.cert }))).toMatch(/self-signed|unable to verify|certificate/i);
      const modern = await handshake(t.broker.tlsPort, { ca: ca.cert, maxVersion: 'TLSv1.2' });
      expect(modern.protocol).toBe('TLSv1.2');
      expect((await handshake(t.broker.tlsPort, { ca: ca.cert })).protocol).toBe('TLSv1.3');
      // SECLEVEL=0 lets this client's OpenSSL offer the old protocols at all (a server that allows
      // them agrees to TLS 1.1 with this very client); ours must still say no.
      const lax = createTlsServer({ cert: server.cert, key: server.key, minVersion: 'TLSv1', ciphers: 'DEFAULT@SECLEVEL=0' }, (s) => s.end());
      await new Promise<void>((resolve) => lax.listen(0, '127.0.0.1', resolve));
      expect((await handshake((lax.address() as AddressInfo).port, { ca: ca.cert, minVersion: 'TLSv1.1', maxVersion: 'TLSv1.1', ciphers: 'DEFAULT@SECLEVEL=0' })).protocol).toBe('TLSv1.1');
      lax.close();
      for (const old of ['TLSv1', 'TLSv1.1'] as const) {
        const r = await handshake(t.broker.tlsPort, { ca: ca.cert, minVersion: old, maxVersion: old, ciphers: 'DEFAULT@SECLEVEL=0' });
        expect(r.protocol, old).toBeUndefined();
        expect(r.error, old).toMatch(/PROTOCOL_VERSION|UNSUPPORTED_PROTOCOL|VERSION/i);
      }
      for (const old of ['TLSv1', 'TLSv1.1'] as const) {
        const r = await handshake(t.broker.wssPort, { ca: ca.cert, minVersion: old, maxVersion: old, ciphers: 'DEFAULT@SECLEVEL=0' });
        expect(r.protocol, old).toBeUndefined();
      }
    });

    it.skipIf(mosquittoPub.skip || mosquittoSub.skip)(`takes mosquitto_pub --cafile as a third-party client ${mosquittoPub.skip ?? ''}`, async () => {
      const ingest = await connect(`mqtts://127.0.0.1:${t.broker.tlsPort}`, { clientId: 'ingest:mp', username: INGEST.username, password: INGEST.password });
      await ingest.subscribeAsync('devices/+/telemetry', { qos: 1 });
      const got = nextMessage(ingest, 'devices/d2/telemetry', 10_000);
      const port = String(t.broker.tlsPort);
      const pub = await run(mosquittoPub.path!, ['-h', 'localhost', '-p', port, '--cafile', ca.certFile, '-V', 'mqttv311', '-q', '1', '-i', 'd2', '-u', 'd2', '-P', DEVICE_SECRETS.d2!, '-t', 'devices/d2/telemetry', '-m', '{"power":42}']);
      expect(pub.status, pub.stderr).toBe(0);
      expect((await got).payload).toBe('{"power":42}');
      // mosquitto_sub over TLS as a service account, receiving one message then exiting.
      const sub = run(mosquittoSub.path!, ['-h', 'localhost', '-p', port, '--cafile', ca.certFile, '-V', 'mqttv311', '-q', '1', '-i', 'ingest:ms', '-u', INGEST.username, '-P', INGEST.password, '-t', 'devices/d3/telemetry', '-C', '1', '-W', '20'], 25_000);
      const d3 = await connect(`mqtts://127.0.0.1:${t.broker.tlsPort}`, device('d3'));
      // Until mosquitto_sub has subscribed, the message may go to nobody: publish until it exits.
      let subResult: Awaited<typeof sub> | undefined;
      void sub.then((r) => { subResult = r; });
      for (let i = 0; i < 100 && !subResult; i++) {
        await d3.publishAsync('devices/d3/telemetry', '{"power":7}', { qos: 1 });
        await new Promise((r) => setTimeout(r, 200));
      }
      const r = await sub;
      expect(r.status, r.stderr).toBe(0);
      expect(r.stdout.trim()).toBe('{"power":7}');
      // A client that does not trust the broker's CA fails, as it should.
      const untrusting = await run(mosquittoPub.path!, ['-h', 'localhost', '-p', port, '--cafile', otherCa.certFile, '-V', 'mqttv311', '-q', '1', '-i', 'd2', '-u', 'd2', '-P', DEVICE_SECRETS.d2!, '-t', 'devices/d2/telemetry', '-m', '{}']);
      expect(untrusting.status).not.toBe(0);
    });
  });

  describe('with device client certificates (CN = device id)', () => {
    let t: TestBroker;
    let d1Cert: Pem;
    beforeAll(async () => {
      d1Cert = makeCert(dir, ca, 'd1', { cn: 'd1', use: 'client' });
      t = await startBroker({ tls: { port: 0, wsPort: 0, context: { cert: server.cert, key: server.key, ca: ca.cert }, clientCerts: 'optional' } });
    });
    afterAll(() => t.close());

    const tlsUrl = () => `mqtts://127.0.0.1:${t.broker.tlsPort}`;

    it('authenticates a registered device by its certificate, without a password, under the same ACL', async () => {
      const ingest = await t.connect({ clientId: 'ingest', username: INGEST.username, password: INGEST.password });
      await ingest.subscribeAsync('devices/+/telemetry', { qos: 1 });
      const d1 = await connect(tlsUrl(), { clientId: 'd1', cert: d1Cert.cert, key: d1Cert.key });
      const got = nextMessage(ingest, 'devices/d1/telemetry');
      await d1.publishAsync('devices/d1/telemetry', '{"power":5}', { qos: 1 });
      expect((await got).payload).toBe('{"power":5}');
      // Over wss too, with the username repeating the CN and a client id in its namespace.
      const ws = await connect(`wss://127.0.0.1:${t.broker.wssPort}/mqtt`, { clientId: 'd1:ws', username: 'd1', cert: d1Cert.cert, key: d1Cert.key });
      expect(ws.connected).toBe(true);
      // Still a device: another device's topic is refused (connection closed).
      const closed = new Promise<void>((resolve) => d1.once('close', () => resolve()));
      d1.publish('devices/d2/telemetry', '{"power":6}', { qos: 1 });
      await closed;
      // Its client id is its own namespace: the certificate of d1 cannot take d2's session.
      expect(await refusal(connect(tlsUrl(), { clientId: 'd2', cert: d1Cert.cert, key: d1Cert.key }))).toBe(2);
    });

    it('refuses a certificate naming another id than the username, an unregistered device, or from another CA — and counts them', async () => {
      const before = await t.metric('anju_broker_auth_failures_total', { reason: 'bad_certificate' });
      // Borrowing: d1's certificate with d2's username and password.
      expect(await refusal(connect(tlsUrl(), { clientId: 'd2', username: 'd2', password: DEVICE_SECRETS.d2, cert: d1Cert.cert, key: d1Cert.key }))).toBe(4);
      const stranger = makeCert(dir, ca, 'stranger', { cn: 'not-registered', use: 'client' });
      expect(await refusal(connect(tlsUrl(), { clientId: 'not-registered', cert: stranger.cert, key: stranger.key }))).toBe(4);
      const forged = makeCert(dir, otherCa, 'forged', { cn: 'd1', use: 'client' });
      expect(await refusal(connect(tlsUrl(), { clientId: 'd1', cert: forged.cert, key: forged.key }))).toBe(4);
      expect(await t.metric('anju_broker_auth_failures_total', { reason: 'bad_certificate' })).toBe(before + 3);
    });

    it('still lets a device without a certificate use its password (optional client certificates)', async () => {
      const d2 = await connect(tlsUrl(), device('d2'));
      await d2.publishAsync('devices/d2/telemetry', '{"power":8}', { qos: 1 });
      expect(await refusal(connect(tlsUrl(), { clientId: 'd3' }))).toBe(4);
    });

    it.skipIf(mosquittoPub.skip)('takes mosquitto_pub --cert/--key as a device, no password', async () => {
      const r = await run(mosquittoPub.path!, ['-h', 'localhost', '-p', String(t.broker.tlsPort), '--cafile', ca.certFile, '--cert', d1Cert.certFile, '--key', d1Cert.keyFile,
        '-V', 'mqttv311', '-q', '1', '-i', 'd1:mp', '-t', 'devices/d1/telemetry', '-m', '{"power":9}']);
      expect(r.status, r.stderr).toBe(0);
    });
  });

  describe('with client certificates required', () => {
    let t: TestBroker;
    beforeAll(async () => {
      t = await startBroker({ plaintext: false, tls: { port: 0, wsPort: 0, context: { cert: server.cert, key: server.key, ca: ca.cert }, clientCerts: 'required' } });
    });
    afterAll(() => t.close());

    it('refuses a TLS client without a certificate from the CA, even with the right password', async () => {
      const r = await refusal(connect(`mqtts://127.0.0.1:${t.broker.tlsPort}`, device('d2')));
      expect(String(r)).toMatch(/certificate|alert|socket|closed|ECONNRESET/i);
      const d3 = makeCert(dir, ca, 'd3', { cn: 'd3', use: 'client' });
      const ok = await connect(`mqtts://127.0.0.1:${t.broker.tlsPort}`, { clientId: 'd3', cert: d3.cert, key: d3.key });
      expect(ok.connected).toBe(true);
    });
  });
});
