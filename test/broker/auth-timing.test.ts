import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import mqtt from 'mqtt';
import { pino } from 'pino';
import { Registry } from 'prom-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createBroker, type AnjuBroker } from '../../broker/index.js';
import { createDeviceDirectory, createEmbeddedDatabase, type EmbeddedDatabase } from '../../storage/index.js';

/**
 * No timing oracle for device ids: an unknown username costs the same registry lookup and scrypt
 * as a known device with a wrong secret (before, 2.6 ms against 52 ms told an attacker which ids
 * exist). Measured through the real broker and the real registry on DuckDB, interleaved so that
 * machine load hits both kinds alike, compared by medians with a wide margin.
 */
describe('CONNECT timing does not tell which device ids exist', () => {
  let dir: string;
  let db: EmbeddedDatabase;
  let broker: AnjuBroker;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'anju-auth-timing-'));
    const logger = pino({ level: 'silent' });
    db = await createEmbeddedDatabase({ dataDir: dir, memoryLimit: '256MB', threads: 1 }, { logger });
    const directory = createDeviceDirectory({ state: db.state });
    await directory.load();
    await directory.create({ id: 'known-sd', kind: 'smoke_detector', site: 's', building: 'b' });
    broker = await createBroker(
      { host: '127.0.0.1', port: 0, wsPort: 0, maxFrameBytes: 64 * 1024, connectRatePerMinute: 100_000, drainTimeoutMs: 5_000, ingest: { via: 'interceptor', topics: [] } },
      { policy: { authenticateDevice: (id, secret) => directory.verify(id, secret), serviceAccount: () => undefined }, logger, metrics: new Registry() },
    );
    await broker.open();
  });
  afterAll(async () => {
    await broker.close();
    await db.close();
    await rm(dir, { recursive: true, force: true });
  });

  const refusalMs = async (username: string): Promise<number> => {
    const t0 = performance.now();
    const code = await mqtt.connectAsync(`mqtt://127.0.0.1:${broker.tcpPort}`, { protocolVersion: 4, clientId: username, username, password: 'wrong-secret', reconnectPeriod: 0 })
      .then(() => 0, (err: { code?: number }) => err.code);
    expect(code).toBe(4);
    return performance.now() - t0;
  };
  const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] as number;

  it('an unknown id and a wrong secret are refused alike, in comparable time', async () => {
    const unknown: number[] = [];
    const known: number[] = [];
    for (let i = 0; i < 9; i++) {
      unknown.push(await refusalMs(`ghost-${i}`));
      known.push(await refusalMs('known-sd'));
      // A malformed id (it cannot be a device) costs the same as well.
      unknown.push(await refusalMs(`not/an id ${i}`.replace(/\//g, '_').replace(/ /g, '+')));
    }
    // Both pay one scrypt (~30–50 ms). Before the fix the unknown side was ~20× faster; a ratio
    // above one half leaves room for any noise while failing that clearly.
    expect(median(unknown) / median(known)).toBeGreaterThan(0.5);
  }, 60_000);
});
