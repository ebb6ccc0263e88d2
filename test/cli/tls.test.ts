import { EventEmitter } from 'node:events';
import { copyFileSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import mqtt from 'mqtt';
import { pino } from 'pino';
import { Registry } from 'prom-client';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { listenHttps, loadTlsMaterial, type TlsMaterial } from '../../cli/tls.js';
import { device, startBroker, type TestBroker } from '../broker/harness.js';
import { httpsJson, makeCa, makeCert, openssl, servedFingerprint, type Pem } from '../helpers/tls.js';

/**
 * Certificate rotation under connected devices: the files are replaced (as certbot or
 * cert-manager do), then SIGHUP or the file watch makes every TLS listener serve the new
 * certificate to new handshakes while the sessions already up carry on.
 */
describe.skipIf(openssl.skip)(`TLS certificate reload ${openssl.skip ?? ''}`, () => {
  let dir: string;
  let ca: Pem;
  let first: Pem;
  let second: Pem;
  let third: Pem;
  const certFile = () => join(dir, 'live.crt');
  const keyFile = () => join(dir, 'live.key');
  const install = (p: Pem) => { copyFileSync(p.keyFile, keyFile()); copyFileSync(p.certFile, certFile()); };

  let signals: EventEmitter;
  let registry: Registry;
  let material: TlsMaterial;
  let t: TestBroker;
  let https: { port: number; close(): Promise<void> };

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'anju-tls-reload-'));
    ca = makeCa(dir, 'ca');
    first = makeCert(dir, ca, 'first', { cn: 'localhost', use: 'server' });
    second = makeCert(dir, ca, 'second', { cn: 'localhost', use: 'server' });
    third = makeCert(dir, ca, 'third', { cn: 'localhost', use: 'server' });
    install(first);
    signals = new EventEmitter();
    registry = new Registry();
    material = await loadTlsMaterial(
      { certFile: certFile(), keyFile: keyFile(), requireClientCert: false, reloadIntervalMs: 100, mqttsPort: 0, wssPort: 0, httpsPort: 0 },
      { logger: pino({ level: 'silent' }), metrics: registry, signals },
    );
    t = await startBroker({ plaintext: false, tls: { port: 0, wsPort: 0, context: material.context, clientCerts: 'none' } });
    material.onReload((context) => t.broker.setSecureContext(context));
    https = await listenHttps('127.0.0.1', 0, material, (_req, res) => res.end('{"ok":true}'));
  });
  afterAll(async () => {
    material?.stop();
    await https?.close();
    await t?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  const reloads = async (result: string) => (await registry.getSingleMetric('anju_tls_reloads_total')?.get())?.values.find((v) => v.labels.result === result)?.value ?? 0;

  it('serves a new certificate after SIGHUP on MQTT/TLS, MQTT/WSS and HTTPS, and the connected device stays up', async () => {
    expect(await servedFingerprint(t.broker.tlsPort, ca.cert)).toBe(first.fingerprint);
    expect((await httpsJson(`https://127.0.0.1:${https.port}/`, ca.cert)).fingerprint).toBe(first.fingerprint);
    const d1 = await mqtt.connectAsync(`mqtts://127.0.0.1:${t.broker.tlsPort}`, { ...device('d1'), protocolVersion: 4, reconnectPeriod: 0, ca: ca.cert, servername: 'localhost' });
    const d2 = await mqtt.connectAsync(`wss://127.0.0.1:${t.broker.wssPort}/mqtt`, { ...device('d2'), protocolVersion: 4, reconnectPeriod: 0, ca: ca.cert, servername: 'localhost' });
    let closes = 0;
    d1.on('close', () => closes++);
    d2.on('close', () => closes++);

    install(second);
    signals.emit('SIGHUP');
    await vi.waitFor(async () => expect(await servedFingerprint(t.broker.tlsPort, ca.cert)).toBe(second.fingerprint), { timeout: 10_000, interval: 100 });
    expect(await servedFingerprint(t.broker.wssPort, ca.cert)).toBe(second.fingerprint);
    expect((await httpsJson(`https://127.0.0.1:${https.port}/`, ca.cert)).fingerprint).toBe(second.fingerprint);
    expect(material.context.cert).toEqual(second.cert);

    // The sessions opened under the first certificate carry on: QoS 1 publishes still get PUBACKs.
    await d1.publishAsync('devices/d1/telemetry', '{"power":1}', { qos: 1 });
    await d2.publishAsync('devices/d2/telemetry', '{"power":2}', { qos: 1 });
    expect(closes).toBe(0);
    expect(d1.connected && d2.connected).toBe(true);
    await Promise.all([d1.endAsync(), d2.endAsync()]);
  });

  it('picks up replaced files without a signal', async () => {
    install(third);
    await vi.waitFor(async () => expect(await servedFingerprint(t.broker.tlsPort, ca.cert)).toBe(third.fingerprint), { timeout: 15_000, interval: 100 });
    expect(await reloads('ok')).toBeGreaterThanOrEqual(2);
  });

  it('keeps the certificate in force when the new files do not go together, and counts the failure', async () => {
    const failedBefore = await reloads('failed');
    // A key that does not match the certificate (half of a renewal).
    copyFileSync(first.keyFile, keyFile());
    expect(await material.reload('sighup')).toBe(false);
    expect(await reloads('failed')).toBe(failedBefore + 1);
    expect(await servedFingerprint(t.broker.tlsPort, ca.cert)).toBe(third.fingerprint);
    // The renewal completes: the pair is good again.
    copyFileSync(first.certFile, certFile());
    expect(await material.reload('sighup')).toBe(true);
    expect(await servedFingerprint(t.broker.tlsPort, ca.cert)).toBe(first.fingerprint);
  });

  it('refuses to start on a key that does not match its certificate, naming the files', async () => {
    await expect(loadTlsMaterial(
      { certFile: second.certFile, keyFile: third.keyFile, requireClientCert: false, reloadIntervalMs: 1000, mqttsPort: 0, wssPort: 0, httpsPort: 0 },
      { logger: pino({ level: 'silent' }), metrics: new Registry(), signals: new EventEmitter() },
    )).rejects.toThrow(/second\.crt.*third\.key.*unset ANJU_TLS_CERT/s);
  });
});
