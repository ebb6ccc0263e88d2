import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import type { Reading } from '../../core/index.js';
import { createEmbeddedDatabase, type EmbeddedDatabase, type EncodedReadings } from '../../storage/index.js';

/**
 * When the embedded store inserts from the spool's bytes (storage/contract.ts EncodedReadings) and
 * when it serialises the readings instead. The contract suite (store.contract.ts) shows both give the
 * same rows; here the bytes are made to differ from the readings on purpose — smoke 0.9 in the JSON,
 * 0.1 in the objects — so the stored value tells which of the two the store read.
 */
const MIN = 60_000;
// Recent: a reading older than two days may match a stored one the store does not track (telemetry.ts loadNewest), so it is merged.
const T0 = Date.now() - (Date.now() % (60 * MIN)) - 60 * MIN;
const logger = pino({ level: 'silent' });
let dir: string | undefined;
let db: EmbeddedDatabase | undefined;

afterEach(async () => {
  await db?.close();
  if (dir) await rm(dir, { recursive: true, force: true });
  db = undefined;
  dir = undefined;
});

async function open(opts: { rawDays?: number; now?: number } = {}): Promise<EmbeddedDatabase> {
  dir = await mkdtemp(join(tmpdir(), 'anju-encoded-'));
  db = await createEmbeddedDatabase(
    { dataDir: dir, memoryLimit: '128MB', threads: 1, ...(opts.rawDays ? { retention: { rawDays: opts.rawDays } } : {}) },
    { logger, ...(opts.now ? { now: () => opts.now! } : {}) },
  );
  return db;
}

const smoke = (device: string, ts: number, value = 0.1): Reading => ({ device, kind: 'smoke_detector', site: 's', building: 'b', ts, fields: { smoke: value } });
const bin = (device: string, ts: number): Reading => ({ device, kind: 'smart_bin', site: 's', building: 'b', category: 'kitchen', ts, fields: { fill: 10 } });

/** The parts of `batch` of the given sizes, with every smoke value written as 0.9. */
function probe(batch: readonly Reading[], sizes: number[]): EncodedReadings[] {
  let at = 0;
  return sizes.map((n) => {
    const part = batch.slice(at, (at += n)).map((r) => (r.kind === 'smoke_detector' ? { ...r, fields: { ...r.fields, smoke: 0.9 } } : r));
    return { json: Buffer.from(JSON.stringify(part)), count: part.length };
  });
}

const smokeOf = async (d: EmbeddedDatabase, device: string) => (await d.telemetry.latest(device))?.fields.smoke;

describe('embedded telemetry: rows from the spool bytes', () => {
  it('inserts from the bytes when they hold exactly the batch, joined across parts and kinds', async () => {
    const d = await open();
    const batch = [smoke('sd-1', T0), smoke('sd-2', T0), bin('bin-1', T0), smoke('sd-3', T0)];
    await d.telemetry.write(batch, probe(batch, [2, 1, 1]));
    expect([await smokeOf(d, 'sd-1'), await smokeOf(d, 'sd-2'), await smokeOf(d, 'sd-3')]).toEqual([0.9, 0.9, 0.9]);
    expect((await d.telemetry.latest('bin-1'))?.fields).toEqual({ fill: 10 });
  });

  it('serialises the readings when a part mixes kinds, the counts do not cover the batch, or a part is not a JSON array', async () => {
    const d = await open();
    const mixed = [smoke('sd-1', T0), bin('bin-1', T0)];
    await d.telemetry.write(mixed, probe(mixed, [2]));
    const short = [smoke('sd-2', T0), smoke('sd-2', T0 + MIN)];
    await d.telemetry.write(short, probe(short, [1]));
    const broken = [smoke('sd-3', T0)];
    await d.telemetry.write(broken, [{ json: Buffer.from('{"not":"an array"}'), count: 1 }]);
    expect([await smokeOf(d, 'sd-1'), await smokeOf(d, 'sd-2'), await smokeOf(d, 'sd-3')]).toEqual([0.1, 0.1, 0.1]);
  });

  it('serialises the readings when two of them are one point, or when they may match stored rows', async () => {
    const d = await open();
    const repeated = [smoke('sd-1', T0), smoke('sd-1', T0, 0.2)];
    await d.telemetry.write(repeated, probe(repeated, [2]));
    expect(await smokeOf(d, 'sd-1')).toBe(0.2);
    // sd-1 has a stored reading at T0: a batch reaching back to it is merged, from the readings.
    const rewrite = [smoke('sd-1', T0, 0.3), smoke('sd-1', T0 + MIN, 0.4)];
    await d.telemetry.write(rewrite, probe(rewrite, [2]));
    expect(await smokeOf(d, 'sd-1')).toBe(0.4);
    expect((await d.telemetry.series({ kind: 'smoke_detector', device: 'sd-1', from: T0, to: T0 + 2 * MIN })).map((p) => p.values.smoke)).toEqual([0.3, 0.4]);
  });

  it('serialises the readings of a kind with readings older than the raw floor (they are folded, not inserted)', async () => {
    const now = T0 + 10 * 24 * 60 * MIN;
    const d = await open({ rawDays: 2, now });
    const batch = [smoke('sd-1', T0), smoke('sd-2', now - MIN), bin('bin-1', now - MIN)];
    await d.telemetry.write(batch, probe(batch, [2, 1]));
    expect(await smokeOf(d, 'sd-2')).toBe(0.1);
    expect(await d.telemetry.series({ kind: 'smoke_detector', device: 'sd-1', from: 0, to: now })).toEqual([]);
    expect((await d.telemetry.latest('bin-1'))?.fields).toEqual({ fill: 10 });
  });
});
