import pg from 'pg';
import { pino } from 'pino';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { migratePostgres } from '../../storage/postgres/index.js';
import { createDeviceHolders, type DeviceHolders } from '../../storage/postgres/holders.js';
import { postgresAvailability, startPostgres, type Postgres } from '../helpers/postgres.js';

/**
 * Which node holds which device (storage/postgres/holders.ts) on a real PostgreSQL: nodes (here, in
 * one process, each with its own pool) hold devices; a claim takes only devices no live node holds,
 * never a live node's; a hold written after a claim wins and the claimer sees it; a node that stops
 * renewing counts as dead after 3 beats and its devices can be claimed.
 */

const logger = pino({ level: 'silent' });
const { skip } = postgresAvailability();
const BEAT_MS = 200;

describe.skipIf(skip)(`device holders on PostgreSQL ${skip ?? ''}`, () => {
  let server: Postgres;
  let url: string;
  let open: DeviceHolders[] = [];
  beforeAll(async () => {
    server = await startPostgres();
  });
  afterAll(async () => {
    await server?.cleanup();
  });
  afterEach(async () => {
    await Promise.all(open.map((h) => h.stop()));
    open = [];
  });

  const database = async (devices: string[]) => {
    url = (await server.createDatabase()).url;
    const pool = new pg.Pool({ connectionString: url });
    await migratePostgres(pool);
    for (const id of devices) {
      await pool.query(`INSERT INTO devices (id, kind, site, building, name, created_at, secret_hash) VALUES ($1, 'smoke_detector', 's1', 'b1', $1, 0, 'x')`, [id]);
    }
    await pool.end();
  };
  // Dead after a minute without a beat, except where a test lets one die: a stalled worker on a
  // loaded machine must not make a live node look dead.
  const node = async (nodeId: string, deadAfterMs = 60_000): Promise<DeviceHolders> => {
    const h = createDeviceHolders({ url, beatMs: BEAT_MS, deadAfterMs, nodeId }, { logger });
    open.push(h);
    await h.start();
    return h;
  };

  it('claims only the devices no live node holds, and each of them once', async () => {
    await database(['d1', 'd2', 'd3', 'd4']);
    const [a, b, leader] = [await node('a'), await node('b'), await node('leader')];
    a.hold('d1');
    b.hold('d2');
    await Promise.all([a.flush(), b.flush()]);
    expect(await leader.claimUnheld(100)).toEqual(['d3', 'd4']);
    // Claimed already: by the leader itself, a live node.
    expect(await leader.claimUnheld(100)).toEqual([]);
    // Two claimers at once: every device is claimed by exactly one of them.
    await database(['e1', 'e2', 'e3', 'e4', 'e5', 'e6']);
    const [x, y] = [await node('x'), await node('y')];
    const [byX, byY] = await Promise.all([x.claimUnheld(100), y.claimUnheld(100)]);
    expect([...byX, ...byY].sort()).toEqual(['e1', 'e2', 'e3', 'e4', 'e5', 'e6']);
  });

  it('a connection\'s hold written after a claim wins, and the claimer finds out', async () => {
    await database(['d1', 'd2']);
    const [leader, b] = [await node('leader'), await node('b')];
    expect(await leader.claimUnheld(100)).toEqual(['d1', 'd2']);
    b.hold('d2');
    await b.flush();
    expect(await leader.heldElsewhere(['d1', 'd2'])).toEqual(['d2']);
    // b lets go (the device went on to another node): only b's own row is removed.
    b.letGo('d1');
    await b.flush();
    expect(await leader.heldElsewhere(['d1'])).toEqual([]);
  });

  it('the devices of a node that stopped renewing can be claimed after 3 beats, not before', async () => {
    await database(['d1', 'd2']);
    const [a, leader] = [await node('a', 3 * BEAT_MS), await node('leader', 3 * BEAT_MS)];
    a.hold('d1');
    a.hold('d2');
    await a.flush();
    expect(await leader.claimUnheld(100)).toEqual([]);
    await a.stop();
    expect(await leader.claimUnheld(100)).toEqual([]);
    await new Promise((r) => setTimeout(r, 3 * BEAT_MS + 300));
    expect(await leader.claimUnheld(100)).toEqual(['d1', 'd2']);
  });

  it('a node tracking what it holds writes it again each beat: devices claimed while it could not write come back to it', async () => {
    await database(['d1', 'd2']);
    const [leader, b] = [await node('leader'), await node('b')];
    // b's rows never made it (PostgreSQL away from b): the leader claims both devices.
    expect(await leader.claimUnheld(100)).toEqual(['d1', 'd2']);
    const holding = new Set(['d2']);
    b.track(() => holding);
    await b.flush();
    expect(await leader.heldElsewhere(['d1', 'd2'])).toEqual(['d2']);
  });

  it('a hold and a let-go of one device in one beat: the last one counts', async () => {
    await database(['d1']);
    const [a, leader] = [await node('a'), await node('leader')];
    a.hold('d1');
    a.letGo('d1');
    await a.flush();
    expect(await leader.claimUnheld(100)).toEqual(['d1']);
  });
});
