import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { createCommandService, type CommandService } from '../../commands/index.js';
import type { Device } from '../../core/index.js';
import { createFleet, type Fleet } from '../../devices-sim/fleet.js';
import { createEmbeddedDatabase, type EmbeddedDatabase } from '../../storage/index.js';
import { DEVICE_SECRETS, OPS, startBroker, type TestBroker } from '../broker/harness.js';

const T = Date.UTC(2026, 0, 1);
const devices: Device[] = [
  { id: 'd1', kind: 'water_meter', site: 's', building: 'b', name: '2-301 户表', purpose: 'household', q3: 2.5, capabilities: ['valve'], createdAt: T },
  { id: 'd2', kind: 'power_meter', site: 's', building: 'b', name: '公共照明', purpose: 'common_lighting', rated_current: 16, capabilities: ['switch'], createdAt: T },
];

/**
 * The simulator obeys: simulated devices with a valve and a breaker, on the real broker, take
 * commands from the dispatcher, act after their equipment's delay and reply; their readings show it.
 */
describe('simulated devices act on commands', () => {
  const cleanups: Array<() => Promise<void>> = [];
  afterEach(async () => {
    for (const c of cleanups.splice(0).reverse()) await c();
  });

  it('a valve close brings flow to zero, a breaker open brings power to zero, each answered with its outcome', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'anju-sim-commands-'));
    const db: EmbeddedDatabase = await createEmbeddedDatabase({ dataDir: dir, memoryLimit: '128MB', threads: 1 }, { logger: pino({ level: 'silent' }) });
    cleanups.push(async () => { await db.close(); await rm(dir, { recursive: true, force: true }); });
    const t: TestBroker = await startBroker();
    cleanups.push(() => t.close());
    const service: CommandService = createCommandService({ sweepIntervalMs: 60_000, replyGraceMs: 1_000 }, {
      store: db.commands, devices: { get: (id) => devices.find((d) => d.id === id) }, broker: t.broker, logger: pino({ level: 'silent' }), metrics: t.registry,
    });
    cleanups.push(async () => service.stop());

    const readings = new Map<string, Array<Record<string, number>>>();
    const watcher = await t.connect({ clientId: 'ops:watch', username: OPS.username, password: OPS.password });
    await watcher.subscribeAsync('devices/+/telemetry', { qos: 0 });
    watcher.on('message', (topic, payload) => {
      const id = topic.split('/')[1]!;
      readings.set(id, [...(readings.get(id) ?? []), JSON.parse(payload.toString()) as Record<string, number>]);
    });

    // speed 20: the valve's 5–20 s of travel take a quarter to one second here.
    const fleet: Fleet = createFleet(
      { brokerUrl: t.url, qos: 1, intervalMs: 100, speed: 20, seed: 11, reconnectMinMs: 50, reconnectMaxMs: 400, connectSpreadMs: 50 },
      { devices: devices.map((device) => ({ device, secret: DEVICE_SECRETS[device.id]! })), logger: pino({ level: 'silent' }) },
    );
    cleanups.push(() => fleet.stop());
    await fleet.start();
    // A device sends its SUBSCRIBE on connect, before its first reading on the same connection, and
    // the broker handles a connection's packets in order: readings mean the subscription is there.
    await vi.waitFor(() => expect(devices.every((d) => (readings.get(d.id)?.length ?? 0) >= 3)).toBe(true), { timeout: 15_000 });
    expect(t.broker.connectedDevices()).toBe(2);
    // Before any command: the valve open (0), the breaker on (0).
    expect(readings.get('d1')!.every((r) => r.valve === 0)).toBe(true);
    expect(readings.get('d2')!.every((r) => r.switch === 0)).toBe(true);

    const close = await service.send('d1', { name: 'close' }, 'token:ops');
    const open = await service.send('d2', { name: 'open' }, 'token:ops');
    const final = async (id: string) => vi.waitFor(async () => {
      const c = await service.get(id);
      expect(['succeeded', 'failed']).toContain(c?.status);
      return c!;
    }, { timeout: 20_000, interval: 100 });
    const closed = await final(close.id);
    const opened = await final(open.id);
    expect(closed).toMatchObject({ status: 'succeeded', state: 'closed' });
    expect(opened).toMatchObject({ status: 'succeeded', state: 'off' });

    // Readings after the replies show the new state.
    const seen = { d1: readings.get('d1')!.length, d2: readings.get('d2')!.length };
    await vi.waitFor(() => {
      const wm = readings.get('d1')!.slice(seen.d1);
      const pm = readings.get('d2')!.slice(seen.d2);
      expect(wm.length).toBeGreaterThanOrEqual(3);
      expect(pm.length).toBeGreaterThanOrEqual(3);
      expect(wm.every((r) => r.flow === 0)).toBe(true);
      expect(pm.every((r) => r.power === 0 && r.current === 0)).toBe(true);
      // …and say so themselves: valve 1 closed, switch 1 off (core/kinds/codes.ts).
      expect(wm.every((r) => r.valve === 1)).toBe(true);
      expect(pm.every((r) => r.switch === 1)).toBe(true);
      // Registers hold still (and never run backwards) while nothing flows.
      expect(new Set(wm.map((r) => r.volume)).size).toBe(1);
    }, { timeout: 15_000 });
  });
});
