import net, { type AddressInfo } from 'node:net';
import { Aedes } from 'aedes';
import pino from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import { waitFor } from '../helpers/wait.js';
import { chunduCommunity, deviceInputSchema, idPattern, type Device } from '../../core/index.js';
import { createCommunity, createFleet, parseRegistry, type Scenario } from '../../devices-sim/index.js';
import { asDevice } from './helpers.js';

/** A bare Aedes that accepts everyone, records telemetry bodies, and can slow down authentication. */
async function startBroker(authDelayMs = 0) {
  const aedes = await Aedes.createBroker();
  let authenticating = 0;
  let peakAuthenticating = 0;
  const bodies = new Map<string, string[]>();
  aedes.authenticate = (_client, _user, _pass, done) => {
    authenticating++;
    peakAuthenticating = Math.max(peakAuthenticating, authenticating);
    setTimeout(() => { authenticating--; done(null, true); }, authDelayMs);
  };
  aedes.on('publish', (packet, client) => {
    if (!client || !packet.topic.endsWith('/telemetry')) return;
    const id = packet.topic.split('/')[1] ?? '';
    bodies.set(id, [...(bodies.get(id) ?? []), packet.payload.toString()]);
  });
  const server = net.createServer(aedes.handle);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    aedes, bodies, peak: () => peakAuthenticating, url: `mqtt://127.0.0.1:${(server.address() as AddressInfo).port}`,
    async close() {
      await new Promise<void>((resolve) => aedes.close(() => resolve()));
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

const cleanups: Array<() => Promise<void>> = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});
const silent = pino({ level: 'silent' });

describe('synthetic community registries', () => {
  it('at the demo size has the demo community composition, kind by kind', () => {
    const count = (ds: readonly { kind: string }[]) => ds.reduce<Record<string, number>>((m, d) => ({ ...m, [d.kind]: (m[d.kind] ?? 0) + 1 }), {});
    expect(count(createCommunity({ sites: 1, seed: 1 }).devices)).toEqual(count(chunduCommunity().devices));
  });

  it('reaches an exact device count, valid and consistent, the same for the same seed', () => {
    for (const [sites, devices, buildings] of [[1, 2_000, undefined], [2, 2_000, undefined], [3, 10_001, 5], [1, 100, 2]] as const) {
      const r = createCommunity({ sites, devices, buildings, seed: 7 });
      expect(r.devices).toHaveLength(devices);
      expect(new Set(r.devices.map((d) => d.id)).size).toBe(devices);
      for (const d of r.devices) {
        expect(deviceInputSchema.safeParse(d).success, d.id).toBe(true);
        expect(idPattern.test(d.id)).toBe(true);
        expect(r.buildings.some((b) => b.site === d.site && b.id === d.building), d.id).toBe(true);
      }
      const masters = r.devices.filter((d) => d.purpose === 'master');
      expect(masters).toHaveLength(sites);
      for (const h of r.devices.filter((d) => d.purpose === 'household')) expect(h.parent).toBe(`${h.site}-wm-master`);
      expect(r.devices.filter((d) => d.kind === 'smart_bin').length % 4).toBe(0);
      expect(JSON.stringify(createCommunity({ sites, devices, buildings, seed: 7 }))).toBe(JSON.stringify(r));
    }
    // The seed chooses which flats are equipped, not how many.
    const a = createCommunity({ sites: 1, seed: 1 }).devices.map((d) => d.id);
    const b = createCommunity({ sites: 1, seed: 2 }).devices.map((d) => d.id);
    expect(b).toHaveLength(a.length);
    expect(b).not.toEqual(a);
  });

  it('refuses counts too small for the layout, and registry files with secrets', () => {
    expect(() => createCommunity({ sites: 2, buildings: 10, devices: 50, seed: 1 })).toThrow(/need at least/);
    const device = { id: 'x-1', kind: 'smoke_detector', site: 's', building: 'b' };
    expect(parseRegistry(JSON.stringify([device])).devices).toHaveLength(1);
    expect(parseRegistry(JSON.stringify({ devices: [device] })).devices).toHaveLength(1);
    expect(() => parseRegistry(JSON.stringify([{ ...device, secret: 's3cret' }]))).toThrow(/secret/);
    expect(() => parseRegistry(JSON.stringify([device, device]))).toThrow(/unique/);
  });
});

describe('fleet at scale and scenario extensions', () => {
  it('connects 500 devices with at most maxPendingConnects CONNECTs in flight', async () => {
    const broker = await startBroker(30);
    cleanups.push(() => broker.close());
    const devices = createCommunity({ sites: 1, devices: 500, seed: 3 }).devices.map((d) => ({ device: asDevice(d), secret: 'x' }));
    const fleet = createFleet(
      { brokerUrl: broker.url, qos: 1, intervalMs: 60_000, seed: 3, reconnectMinMs: 100, reconnectMaxMs: 1_000, connectSpreadMs: 0, maxPendingConnects: 20,
        announceStatus: false },
      { devices, logger: silent },
    );
    cleanups.push(() => fleet.stop());
    await fleet.start();
    await waitFor('500 devices connected', () => fleet.stats().connected === 500);
    expect(broker.peak()).toBeLessThanOrEqual(20);
    expect(fleet.stats().errors).toBe(0);
    await fleet.stop();
    expect(fleet.stats().connected).toBe(0);
    await waitFor('every device disconnected', () => broker.aedes.connectedClients === 0);
  }, 30_000);

  it('keeps a suppressed device silent (counted as suppressed, not skipped) and publishes raw bodies as they are', async () => {
    const broker = await startBroker();
    cleanups.push(() => broker.close());
    const [quiet, noisy, normal] = ['t-sd-1', 't-sd-2', 't-sd-3'].map((id): Device => asDevice({ id, kind: 'smoke_detector', site: 't', building: 'b1' }));
    const scenarios: Scenario[] = [
      { name: 'silent', startAt: 0, appliesTo: (d) => d.id === quiet?.id, apply: (p) => p, suppress: () => true },
      { name: 'garbage', startAt: 0, appliesTo: (d) => d.id === noisy?.id, apply: (p) => p, raw: (elapsed) => `{"broken": ${Math.round(elapsed)}` },
    ];
    const fleet = createFleet(
      { brokerUrl: broker.url, qos: 1, intervalMs: 50, seed: 1, reconnectMinMs: 100, reconnectMaxMs: 1_000, connectSpreadMs: 0, scenarios },
      { devices: [quiet, noisy, normal].map((device) => ({ device: device as Device, secret: 'x' })), logger: silent },
    );
    cleanups.push(() => fleet.stop());
    await fleet.start();
    await waitFor('five readings from t-sd-2 and t-sd-3', () => (broker.bodies.get('t-sd-3')?.length ?? 0) >= 5 && (broker.bodies.get('t-sd-2')?.length ?? 0) >= 5);
    await fleet.stop();
    expect(broker.bodies.get('t-sd-1')).toBeUndefined();
    for (const body of broker.bodies.get('t-sd-2') ?? []) expect(body).toMatch(/^\{"broken": \d+$/);
    for (const body of broker.bodies.get('t-sd-3') ?? []) expect(() => JSON.parse(body) as unknown).not.toThrow();
    const stats = fleet.stats();
    expect(stats.suppressed).toBeGreaterThanOrEqual(3);
    expect(stats.published).toBe((broker.bodies.get('t-sd-2')?.length ?? 0) + (broker.bodies.get('t-sd-3')?.length ?? 0));
  });
});
