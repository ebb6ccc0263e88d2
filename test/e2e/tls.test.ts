import { createHash, createPublicKey } from 'node:crypto';
import { copyFileSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import mqtt from 'mqtt';
import type { IClientOptions, MqttClient } from 'mqtt';
import { chromium } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { buildWeb } from '../../dashboards/web/build.js';
import { startAnju, type AnjuProcess } from '../helpers/anju-process.js';
import { requireBinary, run } from '../helpers/servers.js';
import { httpsJson, makeCa, makeCert, openssl, servedFingerprint, type Pem } from '../helpers/tls.js';

const ADMIN = 'e2e-tls-admin-token-0123456789';
const mosquittoPub = requireBinary('mosquitto_pub', 'mosquitto-clients');
const chromiumBin = requireBinary('chromium', 'chromium');

type Series = { items: Array<{ ts: string; values: Record<string, unknown> }>; total: number };

/**
 * `anju all` with TLS only (ANJU_PLAINTEXT=0): devices over MQTT/TLS, MQTT/WSS and a client
 * certificate, the API over HTTPS, a third-party client, and a certificate rotated with SIGHUP
 * under a connected device — every reading stored.
 */
describe.skipIf(openssl.skip)(`anju all over TLS only ${openssl.skip ?? ''}`, () => {
  let dir: string;
  let dataDir: string;
  let ca: Pem;
  let first: Pem;
  let anju: AnjuProcess;
  const secrets: Record<string, string> = {};
  const clients = new Set<MqttClient>();
  const api = <T>(method: string, path: string, body?: unknown) => httpsJson<T>(`${anju.http}${path}`, ca.cert, { method, token: ADMIN, body });

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'anju-e2e-tls-'));
    dataDir = join(dir, 'data');
    ca = makeCa(dir, 'ca');
    first = makeCert(dir, ca, 'first', { cn: 'localhost', use: 'server' });
    copyFileSync(first.certFile, join(dir, 'tls.crt'));
    copyFileSync(first.keyFile, join(dir, 'tls.key'));
    await buildWeb();
    anju = await startAnju('all', {
      ANJU_DATA_DIR: dataDir, ANJU_SIM: '0', ANJU_ADMIN_TOKEN: ADMIN, ANJU_PLAINTEXT: '0',
      ANJU_TLS_CERT: join(dir, 'tls.crt'), ANJU_TLS_KEY: join(dir, 'tls.key'), ANJU_TLS_CA: ca.certFile,
      ANJU_MQTTS_PORT: '0', ANJU_WSS_PORT: '0', ANJU_HTTPS_PORT: '0',
      // The test rotates with SIGHUP; the file watch must not get there first.
      ANJU_TLS_RELOAD_INTERVAL_S: '3600',
    });
    for (const id of ['tls-pm-1', 'tls-pm-2', 'tls-pm-3']) {
      const res = await api<{ secret: string }>('POST', '/api/devices', { id, kind: 'power_meter', site: 'tls', building: 'b1' });
      expect(res.status).toBe(201);
      secrets[id] = res.body.secret;
    }
  }, 90_000);

  afterAll(async () => {
    await Promise.all([...clients].map((c) => c.endAsync(true)));
    await anju?.stop();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  async function connect(url: string, opts: IClientOptions): Promise<MqttClient> {
    const c = await mqtt.connectAsync(url, { protocolVersion: 4, reconnectPeriod: 0, ca: ca.cert, servername: 'localhost', ...opts }, false);
    clients.add(c);
    return c;
  }
  const port = (url: string) => Number(new URL(url).port);
  const stored = async (id: string, count: number) => vi.waitFor(async () => {
    const r = await api<Series>('GET', `/api/devices/${id}/telemetry?from=${Date.now() - 3_600_000}&to=${Date.now() + 60_000}`);
    expect(r.status).toBe(200);
    expect(r.body.items.length).toBe(count);
    return r.body;
  }, { timeout: 20_000, interval: 200 });

  it('opens no plaintext listener, and serves the API and /health over HTTPS', async () => {
    expect(anju.http).toMatch(/^https:/);
    expect(anju.mqtt).toBe('');
    expect(anju.mqtts).toMatch(/^mqtts:/);
    expect(anju.wss).toMatch(/^wss:/);
    expect((await httpsJson(`${anju.http}/health`, ca.cert)).status).toBe(200);
    expect((await httpsJson(`${anju.http}/api/devices`, ca.cert)).status).toBe(401);
  });

  it('stores readings from mqtt.js over MQTT/TLS and MQTT/WSS, and from mosquitto_pub --cafile', async () => {
    const ts = Date.now() - 60_000;
    const a = await connect(anju.mqtts, { clientId: 'tls-pm-1', username: 'tls-pm-1', password: secrets['tls-pm-1'] });
    await a.publishAsync('devices/tls-pm-1/telemetry', JSON.stringify({ energy: 10, seq: 1, ts }), { qos: 1 });
    const w = await connect(anju.wss, { clientId: 'tls-pm-1:ws', username: 'tls-pm-1', password: secrets['tls-pm-1'] });
    await w.publishAsync('devices/tls-pm-1/telemetry', JSON.stringify({ energy: 11, seq: 2, ts: ts + 1000 }), { qos: 1 });
    if (!mosquittoPub.skip) {
      const r = await run(mosquittoPub.path!, ['-h', 'localhost', '-p', String(port(anju.mqtts)), '--cafile', ca.certFile, '-V', 'mqttv311', '-q', '1',
        '-i', 'tls-pm-1:mp', '-u', 'tls-pm-1', '-P', secrets['tls-pm-1']!, '-t', 'devices/tls-pm-1/telemetry', '-m', JSON.stringify({ energy: 12, seq: 3, ts: ts + 2000 })]);
      expect(r.status, r.stderr).toBe(0);
    }
    const series = await stored('tls-pm-1', mosquittoPub.skip ? 2 : 3);
    expect(series.items.map((i) => i.values.energy)).toEqual(mosquittoPub.skip ? [10, 11] : [10, 11, 12]);
  });

  it('authenticates a device by its client certificate (CN = device id) and refuses one for an unknown id', async () => {
    const cert = makeCert(dir, ca, 'tls-pm-2', { cn: 'tls-pm-2', use: 'client' });
    const d = await connect(anju.mqtts, { clientId: 'tls-pm-2', cert: cert.cert, key: cert.key });
    await d.publishAsync('devices/tls-pm-2/telemetry', JSON.stringify({ energy: 20, seq: 1 }), { qos: 1 });
    await stored('tls-pm-2', 1);
    const stranger = makeCert(dir, ca, 'stranger', { cn: 'tls-unknown', use: 'client' });
    await expect(connect(anju.mqtts, { clientId: 'tls-unknown', cert: stranger.cert, key: stranger.key })).rejects.toMatchObject({ code: 4 });
  });

  it.skipIf(chromiumBin.skip)(`serves the control room to Chromium over HTTPS, its live stream included ${chromiumBin.skip ?? ''}`, async () => {
    // Chromium trusts exactly this server key (its SPKI hash), as a site would trust its own CA.
    const spki = createHash('sha256').update(createPublicKey(first.cert).export({ type: 'spki', format: 'der' })).digest('base64');
    const browser = await chromium.launch({
      executablePath: chromiumBin.path ?? '/usr/bin/chromium',
      args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', `--ignore-certificate-errors-spki-list=${spki}`],
    });
    try {
      const page = await (await browser.newContext({ locale: 'zh-CN' })).newPage();
      const response = await page.goto(`${anju.http}/`);
      expect(response?.status()).toBe(200);
      expect(new URL(page.url()).protocol).toBe('https:');
      await page.fill('#login-token', ADMIN);
      await page.press('#login-token', 'Enter');
      await page.waitForSelector('.tile[data-building]', { timeout: 30_000 });
      // Server-sent events over HTTPS: the live indicator says the stream is open.
      await page.waitForSelector('#live-indicator[data-state="open"]', { timeout: 30_000 });
    } finally {
      await browser.close();
    }
  }, 90_000);

  it('rotates the certificate on SIGHUP without dropping the connected device', async () => {
    const second = makeCert(dir, ca, 'second', { cn: 'localhost', use: 'server' });
    const d = await connect(anju.mqtts, { clientId: 'tls-pm-3', username: 'tls-pm-3', password: secrets['tls-pm-3'] });
    let closed = false;
    d.on('close', () => { closed = true; });
    await d.publishAsync('devices/tls-pm-3/telemetry', JSON.stringify({ energy: 30, seq: 1, ts: Date.now() - 5000 }), { qos: 1 });
    expect(await servedFingerprint(port(anju.mqtts), ca.cert)).toBe(first.fingerprint);

    copyFileSync(second.keyFile, join(dir, 'tls.key'));
    copyFileSync(second.certFile, join(dir, 'tls.crt'));
    anju.child.kill('SIGHUP');
    await vi.waitFor(async () => expect(await servedFingerprint(port(anju.mqtts), ca.cert)).toBe(second.fingerprint), { timeout: 15_000, interval: 200 });
    expect(await servedFingerprint(port(anju.wss), ca.cert)).toBe(second.fingerprint);
    expect((await httpsJson(`${anju.http}/health`, ca.cert)).fingerprint).toBe(second.fingerprint);

    await d.publishAsync('devices/tls-pm-3/telemetry', JSON.stringify({ energy: 31, seq: 2 }), { qos: 1 });
    expect(closed).toBe(false);
    expect(anju.alive()).toBe(true);
    await stored('tls-pm-3', 2);
  });
});
