import { join } from 'node:path';
import { pino } from 'pino';
import { Registry } from 'prom-client';
import { afterEach, describe, expect, it } from 'vitest';
import { openTelemetryPath } from '../../cli/telemetry-path.js';
import type { Reading } from '../../core/index.js';
import { cleanup, freshDir, many, openDb } from '../storage/spool.helpers.js';

const logger = pino({ level: 'silent' });
afterEach(cleanup);

const key = (rs: readonly Reading[]) => rs.map((r) => `${r.device}@${r.ts}`);

describe('telemetry path: the backlog a previous run left in the spool', () => {
  it('hands onBacklog the backlog as the forwarder takes it, and none of the readings appended after the restart', async () => {
    const dir = await freshDir();
    const db = await openDb(join(dir, 'db'));
    const config = { dataDir: dir, quotaBytes: 64 << 20, fsync: false };
    // The first run: its store is down, so every reading stays in the spool.
    const down = { ...db.telemetry, name: db.telemetry.name, write: () => Promise.reject(new Error('store down')) };
    const first = await openTelemetryPath(config, { store: down, logger, metrics: new Registry() });
    const backlog = [many(300, 'a'), many(300, 'b'), many(5, 'c')];
    for (const b of backlog) await first.spool.append(b);
    await first.close();

    const seen: Reading[] = [];
    const second = await openTelemetryPath(config, { store: db.telemetry, logger, metrics: new Registry(), onBacklog: (rs) => seen.push(...rs) });
    await second.forwarder.flush();
    expect(key(seen)).toEqual(key(backlog.flat()));
    const live = many(10, 'live', 1_000);
    await second.spool.append(live);
    await second.forwarder.flush();
    expect(seen).toHaveLength(605);
    await second.close();
  });

  it('calls onBacklog never when the spool opens empty', async () => {
    const dir = await freshDir();
    const db = await openDb(join(dir, 'db'));
    let calls = 0;
    const path = await openTelemetryPath({ dataDir: dir, quotaBytes: 64 << 20, fsync: false }, {
      store: db.telemetry, logger, metrics: new Registry(), onBacklog: () => { calls += 1; },
    });
    await path.spool.append(many(20));
    await path.forwarder.flush();
    expect(calls).toBe(0);
    await path.close();
  });
});
