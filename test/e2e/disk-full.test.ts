import mqtt from 'mqtt';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { assembleHub } from '../../cli/assemble/index.js';
import type { DiskSpace } from '../../storage/index.js';
import { assembledNode, silentLogger } from '../helpers/assembled.js';

const MiB = 2 ** 20;
const token = 'disk-full-test-admin-token';

/**
 * A full disk on a running node (real Aedes, MQTT.js, spool, DuckDB, Fastify; only statfs is
 * simulated): QoS 1 publishes are acknowledged once spooled, the store refuses them (counted, in
 * /health and /metrics) and keeps nothing half-written; when space returns every one is stored.
 */
describe('disk full', () => {
  const node = assembledNode();
  afterEach(() => node.cleanup());

  it('refuses store writes while the disk is below ANJU_DISK_MIN_FREE_MB, keeps the readings in the spool, and writes them all once it frees', async () => {
    const { config, db, directory, serviceAccounts, broker, metrics } = await node.prepare({ ANJU_ADMIN_TOKEN: token, ANJU_DISK_MIN_FREE_MB: '512' });
    const { secret } = await directory.create({ id: 'sd-1', kind: 'smoke_detector', site: 's1', building: 'b1' });
    let space: DiskSpace = { freeBytes: 20_000 * MiB, totalBytes: 40_000 * MiB };
    const h = node.track(await assembleHub(config, {
      db, directory, serviceAccounts, broker, logger: silentLogger, metrics, diskProbe: async () => space, diskIntervalMs: 100,
    }));
    await broker.open();
    const client = await mqtt.connectAsync(broker.urls().mqtt as string, { protocolVersion: 4, clientId: 'sd-1', username: 'sd-1', password: secret, reconnectPeriod: 0 });
    const T0 = Date.now() - 60_000;
    const publish = (seq: number) => client.publishAsync('devices/sd-1/telemetry', JSON.stringify({ ts: T0 + seq * 1_000, smoke: seq / 100, seq }), { qos: 1 });
    const stored = async () => (await h.telemetry.series({ kind: 'smoke_detector', device: 'sd-1', from: T0, to: T0 + 100_000, fields: ['smoke'] })).length;
    const health = async () => (await h.app.inject({ method: 'GET', url: '/health' })).json() as { status: string; checks: Record<string, { status: string; detail: string }> };
    const metric = async (name: string) => {
      const text = (await h.app.inject({ method: 'GET', url: '/metrics', headers: { authorization: `Bearer ${token}` } })).body;
      const line = text.split('\n').find((l) => l.startsWith(`${name} `));
      return line === undefined ? undefined : Number(line.split(' ')[1]);
    };

    await publish(1);
    await vi.waitFor(async () => expect(await stored()).toBe(1), { timeout: 15_000, interval: 100 });
    expect((await health()).checks.disk?.status).toBe('ok');
    expect(await metric('anju_disk_free_bytes')).toBe(20_000 * MiB);
    expect(await metric('anju_store_bytes')).toBeGreaterThan(0);

    space = { freeBytes: 100 * MiB, totalBytes: 40_000 * MiB };
    await vi.waitFor(async () => expect((await health()).checks.disk?.status).toBe('degraded'), { timeout: 15_000, interval: 100 });
    // Acknowledged: each is in the spool before its PUBACK, though the store takes none of them.
    for (const seq of [2, 3, 4, 5]) await publish(seq);
    await vi.waitFor(async () => expect(await metric('anju_disk_full_refusals_total')).toBeGreaterThan(0), { timeout: 15_000, interval: 100 });
    const report = await health();
    expect(report.status).toBe('degraded');
    expect(report.checks.disk?.detail).toContain('FULL');
    expect(h.path.spool.stats().depth).toBeGreaterThanOrEqual(4);
    expect(await stored()).toBe(1);

    space = { freeBytes: 20_000 * MiB, totalBytes: 40_000 * MiB };
    await vi.waitFor(async () => expect(await stored()).toBe(5), { timeout: 60_000, interval: 200 });
    await vi.waitFor(async () => expect((await health()).checks.disk?.status).toBe('ok'), { timeout: 15_000, interval: 100 });
    expect((await h.telemetry.latest('sd-1'))?.fields.smoke).toBe(0.05);
    expect(h.pipeline.stats().accepted).toBe(5);
    await client.endAsync();
  }, 120_000);
});
