import net, { type AddressInfo } from 'node:net';
import { Aedes, type Client } from 'aedes';
import mqtt from 'mqtt';
import pino from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import { waitFor } from '../helpers/wait.js';
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
    await waitFor('four readings from every device', () => devices.every(({ device }) => (watcher.telemetry.get(device.id)?.length ?? 0) >= 4));

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
    await waitFor('only the watcher connected', () => broker.aedes.connectedClients === 1); // only the watcher is left
    await waitFor('every device retained offline', () => devices.every(({ device }) => watcher.status.get(device.id) === 'offline'));
    expect(fleet.stats().connected).toBe(0);
    const after = fleet.stats();
    // Marker: a second fleet on the same ticks publishes three rounds; a timer the first one left
    // behind would have fired meanwhile (and counted a publish or a skipped tick).
    const marker = startFleet(broker.url, devices.slice(0, 1));
    await marker.start();
    const id = devices[0]?.device.id ?? '';
    const seen = watcher.telemetry.get(id)?.length ?? 0;
    await waitFor('three marker readings', () => (watcher.telemetry.get(id)?.length ?? 0) >= seen + 3);
    await marker.stop();
    expect(fleet.stats()).toMatchObject({ published: after.published, skipped: after.skipped, connected: 0 });
  });

  it('reconnects with backoff after the broker drops a device, and skips ticks rather than queueing', async () => {
    const devices = fleetDevices().slice(0, 3);
    const broker = await startBroker(secrets);
    cleanups.push(() => broker.close());
    const watcher = await watch(broker.url);
    cleanups.push(() => watcher.client.endAsync());
    const fleet = startFleet(broker.url, devices);
    await fleet.start();
    await waitFor('three devices connected', () => fleet.stats().connected === 3);

    const id = devices[0]?.device.id ?? '';
    // Refuse the device for a while, then drop its connection: it must retry, skip ticks meanwhile, and come back.
    const secret = secrets.get(id) ?? '';
    secrets.set(id, 'rotated');
    broker.clients.get(id)?.close();
    await waitFor('ticks skipped while the device is refused', () => fleet.stats().skipped > 2 && fleet.stats().connected === 2);
    const before = watcher.telemetry.get(id)?.length ?? 0;
    secrets.set(id, secret);
    await waitFor('the refused device back and publishing', () => fleet.stats().connected === 3 && (watcher.telemetry.get(id)?.length ?? 0) > before + 2);
    expect(fleet.stats().reconnects).toBeGreaterThanOrEqual(1);
    // The device kept its counter across the reconnect.
    const seqs = (watcher.telemetry.get(id) ?? []).map((m) => m.seq as number);
    expect(seqs.every((s, i) => i === 0 || s > (seqs[i - 1] as number))).toBe(true);
    await fleet.stop();
    await waitFor('only the watcher connected', () => broker.aedes.connectedClients === 1);
  });

  it('start() returns while the broker is unreachable, and stop() ends the retries', async () => {
    const server = net.createServer();
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const port = (server.address() as AddressInfo).port;
    await new Promise<void>((resolve) => server.close(() => resolve()));
    const fleet = startFleet(`mqtt://127.0.0.1:${port}`, fleetDevices().slice(0, 2));
    await fleet.start();
    await waitFor('a failed connection attempt', () => fleet.stats().errors > 0);
    const stats = fleet.stats();
    expect(stats.connected).toBe(0);
    expect(stats.published).toBe(0);
    await fleet.stop();
  });
});

