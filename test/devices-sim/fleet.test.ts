import net, { type AddressInfo } from 'node:net';
import { Aedes, type Client } from 'aedes';
import mqtt from 'mqtt';
import pino from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import { kinds, type Device } from '../../core/index.js';
import { createFleet, type Fleet } from '../../devices-sim/index.js';
import { demoDevices } from './helpers.js';

/** A bare Aedes broker on an ephemeral port, authenticating devices by id + secret. */
async function startBroker(secrets: Map<string, string>) {
  const aedes = await Aedes.createBroker();
  const authenticated: string[] = [];
  const publishers = new Map<string, Set<string>>(); // topic device → client ids that published there
  const clients = new Map<string, Client>();
  aedes.authenticate = (client, username, password, done) => {
    const ok = username !== undefined && username === client.id && secrets.get(username) === password?.toString();
    if (ok) authenticated.push(username);
    done(ok ? null : Object.assign(new Error('bad credentials'), { returnCode: 4 as const }), ok);
  };
  aedes.authorizePublish = (client, packet, done) => {
    // Devices publish only under their own subtree (DESIGN.md §3).
    if (client && client.id !== 'watcher' && !packet.topic.startsWith(`devices/${client.id}/`)) return done(new Error('denied'));
    const device = packet.topic.split('/')[1] ?? '';
    if (client) publishers.set(device, (publishers.get(device) ?? new Set()).add(client.id));
    done(null);
  };
  aedes.on('clientReady', (c) => clients.set(c.id, c));
  aedes.on('clientDisconnect', (c) => clients.delete(c.id));
  const server = net.createServer(aedes.handle);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as AddressInfo).port;
  return {
    aedes, authenticated, publishers, clients, url: `mqtt://127.0.0.1:${port}`,
    async close() {
      await new Promise<void>((resolve) => aedes.close(() => resolve()));
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

async function watch(url: string) {
  secrets.set('watcher', 'watcher-secret');
  const client = await mqtt.connectAsync(url, { clientId: 'watcher', username: 'watcher', password: 'watcher-secret', protocolVersion: 4, reconnectPeriod: 0 });
  const telemetry = new Map<string, Array<Record<string, unknown>>>();
  const status = new Map<string, string>();
  client.on('message', (topic, payload) => {
    const [, device = '', channel] = topic.split('/');
    if (channel === 'telemetry') telemetry.set(device, [...(telemetry.get(device) ?? []), JSON.parse(payload.toString()) as Record<string, unknown>]);
    if (channel === 'status') status.set(device, payload.toString());
  });
  await client.subscribeAsync(['devices/+/telemetry', 'devices/+/status'], { qos: 1 });
  return { client, telemetry, status };
}

async function until(cond: () => boolean, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!cond()) {
    if (Date.now() > deadline) throw new Error('timed out waiting');
    await new Promise((r) => setTimeout(r, 20));
  }
}

const secrets = new Map<string, string>();
const cleanups: Array<() => Promise<void>> = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
  secrets.clear();
});

/** Ten demo devices covering every kind, including the linked master meter and pump. */
function fleetDevices(): Array<{ device: Device; secret: string }> {
  const wanted = ['chundu-b1-sd-u1', 'chundu-b1-sd-101', 'chundu-b1-wm-101', 'chundu-b1-wm-202', 'chundu-wm-master', 'chundu-b1-pm-light', 'chundu-b1-pm-lift', 'chundu-pm-pump', 'chundu-bin1-kitchen', 'chundu-bin1-hazardous'];
  return demoDevices().filter((d) => wanted.includes(d.id)).map((device) => {
    const secret = `secret-${device.id}`;
    secrets.set(device.id, secret);
    return { device, secret };
  });
}

function startFleet(url: string, devices: Array<{ device: Device; secret: string }>, extra: { reconnectMinMs?: number } = {}): Fleet {
  const fleet = createFleet(
    { brokerUrl: url, qos: 1, intervalMs: 100, seed: 7, reconnectMinMs: extra.reconnectMinMs ?? 50, reconnectMaxMs: 400, connectSpreadMs: 200 },
    { devices, logger: pino({ level: 'silent' }) },
  );
  cleanups.push(() => fleet.stop());
  return fleet;
}

describe('simulated fleet against a real broker', () => {
  it('publishes every device with its own credentials, in sequence, and stops cleanly', async () => {
    const devices = fleetDevices();
    const broker = await startBroker(secrets);
    cleanups.push(() => broker.close());
    const watcher = await watch(broker.url);
    cleanups.push(() => watcher.client.endAsync());

    const fleet = startFleet(broker.url, devices);
    await fleet.start();
    await until(() => devices.every(({ device }) => (watcher.telemetry.get(device.id)?.length ?? 0) >= 4), 6_000);

    for (const { device } of devices) {
      expect(broker.authenticated).toContain(device.id);
      // Only the device itself published on its topics.
      expect([...(broker.publishers.get(device.id) ?? [])]).toEqual([device.id]);
      const messages = watcher.telemetry.get(device.id) ?? [];
      for (const m of messages) expect(kinds[device.kind].payload.safeParse(m).success, JSON.stringify(m)).toBe(true);
      const seqs = messages.map((m) => m.seq as number);
      expect(seqs.every((s, i) => i === 0 || s > (seqs[i - 1] as number)), `${device.id} seq ${seqs.join(',')}`).toBe(true);
      expect(seqs[0]).toBe(0);
      expect(Math.abs((messages[0]?.ts as number) - Date.now())).toBeLessThan(10_000);
    }
    expect(watcher.status.get('chundu-b1-sd-u1')).toBe('online');
    const stats = fleet.stats();
    expect(stats.connected).toBe(devices.length);
    expect(stats.published).toBeGreaterThanOrEqual(4 * devices.length);
    expect(stats.acked).toBeGreaterThan(0);
    expect(stats.errors).toBe(0);
    expect(stats.rate).toBeGreaterThanOrEqual(0);

    await fleet.stop();
    await until(() => broker.aedes.connectedClients === 1, 2_000); // only the watcher is left
    await until(() => devices.every(({ device }) => watcher.status.get(device.id) === 'offline'), 2_000);
    expect(fleet.stats().connected).toBe(0);
    const published = fleet.stats().published;
    await new Promise((r) => setTimeout(r, 250));
    expect(fleet.stats().published).toBe(published);
  });

  it('reconnects with backoff after the broker drops a device, and skips ticks rather than queueing', async () => {
    const devices = fleetDevices().slice(0, 3);
    const broker = await startBroker(secrets);
    cleanups.push(() => broker.close());
    const watcher = await watch(broker.url);
    cleanups.push(() => watcher.client.endAsync());
    const fleet = startFleet(broker.url, devices);
    await fleet.start();
    await until(() => fleet.stats().connected === 3, 2_000);

    const id = devices[0]?.device.id ?? '';
    // Refuse the device for a while, then drop its connection: it must retry, skip ticks meanwhile, and come back.
    const secret = secrets.get(id) ?? '';
    secrets.set(id, 'rotated');
    broker.clients.get(id)?.close();
    await until(() => fleet.stats().skipped > 2 && fleet.stats().connected === 2, 2_000);
    const before = watcher.telemetry.get(id)?.length ?? 0;
    secrets.set(id, secret);
    await until(() => fleet.stats().connected === 3 && (watcher.telemetry.get(id)?.length ?? 0) > before + 2, 4_000);
    expect(fleet.stats().reconnects).toBeGreaterThanOrEqual(1);
    // The device kept its counter across the reconnect.
    const seqs = (watcher.telemetry.get(id) ?? []).map((m) => m.seq as number);
    expect(seqs.every((s, i) => i === 0 || s > (seqs[i - 1] as number))).toBe(true);
    await fleet.stop();
    await until(() => broker.aedes.connectedClients === 1, 2_000);
  });

  it('start() returns while the broker is unreachable, and stop() ends the retries', async () => {
    const server = net.createServer();
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const port = (server.address() as AddressInfo).port;
    await new Promise<void>((resolve) => server.close(() => resolve()));
    const fleet = startFleet(`mqtt://127.0.0.1:${port}`, fleetDevices().slice(0, 2));
    await fleet.start();
    await new Promise((r) => setTimeout(r, 300));
    const stats = fleet.stats();
    expect(stats.connected).toBe(0);
    expect(stats.published).toBe(0);
    expect(stats.errors).toBeGreaterThan(0);
    await fleet.stop();
  });
});

