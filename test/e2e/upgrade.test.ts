import { cp, mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { DuckDBInstance } from '@duckdb/node-api';
import mqtt from 'mqtt';
import { pino } from 'pino';
import { afterAll, describe, expect, it, vi } from 'vitest';
import { createEmbeddedDatabase } from '../../storage/index.js';
import { latestSchemaVersion } from '../../storage/embedded/schema.js';
import { apiClient, startAnju, type AnjuProcess } from '../helpers/anju-process.js';

/**
 * Upgrades are forward only, and every release must open the data directories of every release
 * before it. Each folder in test/fixtures/upgrade/<version>/ holds a data directory written by
 * that release (made by make-fixture.ts from its tag, committed, never regenerated) and what it
 * holds (expected.json). One loop starts today's `anju all` on a copy of each and checks that
 * nothing was lost: registry, secrets and tokens (stored hashed), the alarm and its state, every
 * reading, the readings the spool held for the store, the rollups, and the schema at its latest.
 */

interface Expected {
  version: string;
  adminToken: string;
  viewerToken: string;
  serviceAccount: { id: string; secret: string };
  secrets: Record<string, string>;
  devices: Array<{ id: string; kind: string; site: string; building: string; name?: string; location?: string; category?: string; purpose?: string }>;
  alarms: Array<{ id: string; type: string; status: string; severity: string }>;
  stored: Record<string, number>;
  spooled: Array<{ device: string; ts: number; fields: Record<string, number> }>;
  window: { from: number; to: number };
}

const fixturesDir = fileURLToPath(new URL('../fixtures/upgrade/', import.meta.url));
const versions = (await readdir(fixturesDir, { withFileTypes: true })).filter((d) => d.isDirectory()).map((d) => d.name).sort();
const latestSchema = latestSchemaVersion;

async function copyFixture(version: string): Promise<{ dataDir: string; expected: Expected; remove(): Promise<void> }> {
  const dir = await mkdtemp(join(tmpdir(), `anju-upgrade-${version}-`));
  const dataDir = join(dir, 'data');
  await cp(join(fixturesDir, version, 'data'), dataDir, { recursive: true });
  const expected = JSON.parse(await readFile(join(fixturesDir, version, 'expected.json'), 'utf8')) as Expected;
  return { dataDir, expected, remove: () => rm(dir, { recursive: true, force: true }) };
}

async function schemaVersion(dataDir: string): Promise<number> {
  const instance = await DuckDBInstance.create(join(dataDir, 'anju.duckdb'), { access_mode: 'READ_ONLY' });
  const conn = await instance.connect();
  try {
    const rows = (await conn.runAndReadAll('SELECT max(version) AS v FROM schema_version')).getRowObjects();
    return Number(rows[0]?.v);
  } finally {
    conn.closeSync();
    instance.closeSync();
  }
}

describe('upgrading from the data directory of an earlier release', () => {
  it('has at least one release fixture', () => {
    expect(versions.length).toBeGreaterThan(0);
  });

  describe.each(versions)('made by %s', (version) => {
    let anju: AnjuProcess | undefined;
    let fixture: Awaited<ReturnType<typeof copyFixture>> | undefined;
    afterAll(async () => {
      if (anju?.alive()) await anju.stop();
      await fixture?.remove();
    });

    it('opens with today\'s code and keeps everything it held, then takes new readings', async () => {
      fixture = await copyFixture(version);
      const { dataDir, expected } = fixture;
      expect(await schemaVersion(dataDir)).toBeLessThanOrEqual(latestSchema);
      // No ANJU_ADMIN_TOKEN: the admin token stored (hashed) by the old release must still work.
      anju = await startAnju('all', { ANJU_DATA_DIR: dataDir, ANJU_SIM: '0' });
      expect(anju.output()).not.toMatch(/bootstrap admin API token was generated/);
      const api = apiClient(anju.http, expected.adminToken);

      const devices = await api<{ items: Array<Record<string, unknown>> }>('GET', '/api/devices');
      expect(devices.status).toBe(200);
      for (const d of expected.devices) expect(devices.body.items).toContainEqual(expect.objectContaining(d));
      expect((await apiClient(anju.http, expected.viewerToken)('GET', '/api/devices')).status).toBe(200);
      const sites = await api<{ items: Array<Record<string, unknown>> }>('GET', '/api/sites');
      expect(sites.body.items).toContainEqual(expect.objectContaining({ id: 'fx', name: '安居花园', timezone: 'Asia/Shanghai', gridRegion: 'east' }));
      // Every alarm with its state (the fire alarm was acknowledged by the old release).
      expect(expected.alarms.some((a) => a.status === 'active_ack')).toBe(true);
      for (const a of expected.alarms) expect((await api('GET', `/api/alerts/${a.id}`)).body).toMatchObject(a);
      const accounts = await api<{ items: Array<{ id: string }> }>('GET', '/api/service-accounts');
      expect(accounts.body.items.map((a) => a.id)).toContain(expected.serviceAccount.id);

      // Every reading the old release stored, and the ones its spool still held for the store.
      const { from, to } = expected.window;
      const series = async (id: string) => (await api<{ items: Array<{ ts: string; values: Record<string, unknown> }> }>('GET', `/api/devices/${id}/telemetry?from=${from}&to=${to}&limit=5000`)).body.items;
      for (const [id, count] of Object.entries(expected.stored)) {
        const extra = expected.spooled.filter((r) => r.device === id).length;
        await vi.waitFor(async () => expect((await series(id)).length, id).toBe(count + extra), { timeout: 20_000, interval: 200 });
      }
      const meter = await series('fx-pm-1');
      for (const r of expected.spooled) {
        expect(meter.find((i) => i.ts === new Date(r.ts).toISOString())?.values).toMatchObject(r.fields);
      }

      // Old secrets still authenticate: a device and the service account, over MQTT.
      const device = await mqtt.connectAsync(anju.mqtt, { protocolVersion: 4, clientId: 'fx-wm-1', username: 'fx-wm-1', password: expected.secrets['fx-wm-1'], reconnectPeriod: 0 });
      await device.publishAsync('devices/fx-wm-1/telemetry', JSON.stringify({ volume: 99.5, seq: 1000 }), { qos: 1 });
      await device.endAsync();
      const bridge = await mqtt.connectAsync(anju.mqtt, { protocolVersion: 4, clientId: expected.serviceAccount.id, username: expected.serviceAccount.id,
        password: expected.serviceAccount.secret, reconnectPeriod: 0 });
      await bridge.endAsync();
      await vi.waitFor(async () => {
        const latest = await api<{ fields: Record<string, unknown> }>('GET', '/api/devices/fx-wm-1/latest');
        expect(latest.body.fields?.volume).toBe(99.5);
      }, { timeout: 20_000, interval: 200 });

      expect(await anju.stop()).toBe(0);
      expect(await schemaVersion(dataDir)).toBe(latestSchema);
      // The daily rollups of the old meter readings are there (built by the old release or on this open).
      const instance = await DuckDBInstance.create(join(dataDir, 'anju.duckdb'), { access_mode: 'READ_ONLY' });
      const conn = await instance.connect();
      const days = Number((await conn.runAndReadAll(`SELECT count(*) AS n FROM register_days WHERE device = 'fx-pm-1'`)).getRowObjects()[0]?.n);
      // The hourly aggregates (built from the old readings on this open, kept with each write since) count every reading.
      const one = async (sql: string) => Number((await conn.runAndReadAll(sql)).getRowObjects()[0]?.n);
      const raw = await one(`SELECT count(energy) AS n FROM power_meter WHERE device = 'fx-pm-1'`);
      const hourly = await one(`SELECT sum(energy__n) AS n FROM hourly_power_meter WHERE device = 'fx-pm-1'`);
      const wmRaw = await one(`SELECT count(volume) AS n FROM water_meter`);
      const wmHourly = await one(`SELECT sum(volume__n) AS n FROM hourly_water_meter`);
      // Every alarm and incident the old release stored has a revision (migration 14): the seq of its
      // last event, so the next write is a compare-and-set like any other.
      // They are in the alarm file now (storage/embedded/alarm-file.ts), moved out of the old release's one file.
      const leftInMain = await one(`SELECT count(*) AS n FROM duckdb_tables() WHERE database_name = 'anju' AND table_name IN ('alarms', 'incidents', 'rule_state')`);
      await conn.run(`ATTACH '${join(dataDir, 'alarms.duckdb')}' AS anju_alarms (READ_ONLY)`);
      const unrevised = await one(`SELECT count(*) AS n FROM anju_alarms.alarms a
        WHERE rev IS NULL OR rev <> coalesce((SELECT max(seq) FROM anju_alarms.alarm_events e WHERE e.alarm_id = a.id), 0)`);
      const alarmRows = await one(`SELECT count(*) AS n FROM anju_alarms.alarms`);
      const unrevisedIncidents = await one(`SELECT count(*) AS n FROM anju_alarms.incidents i
        WHERE rev IS NULL OR rev < coalesce((SELECT max(seq) FROM anju_alarms.incident_events e WHERE e.incident_id = i.id), 0)`);
      conn.closeSync();
      instance.closeSync();
      expect(days).toBeGreaterThanOrEqual(3);
      expect(raw).toBeGreaterThan(0);
      expect(hourly).toBe(raw);
      expect(wmHourly).toBe(wmRaw);
      expect(leftInMain).toBe(0);
      expect(alarmRows).toBeGreaterThan(0);
      expect(unrevised).toBe(0);
      expect(unrevisedIncidents).toBe(0);
    }, 120_000);
  });

  it('refuses, naming what to do, a data directory a newer release has migrated', async () => {
    const fixture = await copyFixture(versions.at(-1)!);
    try {
      const instance = await DuckDBInstance.create(join(fixture.dataDir, 'anju.duckdb'));
      const conn = await instance.connect();
      await conn.run(`INSERT INTO schema_version VALUES (${latestSchema + 1}, 0)`);
      await conn.run('CHECKPOINT');
      conn.closeSync();
      instance.closeSync();
      await expect(createEmbeddedDatabase({ dataDir: fixture.dataDir, memoryLimit: '256MB', threads: 1 }, { logger: pino({ level: 'silent' }) }))
        .rejects.toThrow(new RegExp(`schema version ${latestSchema + 1}, written by a newer Anju; this version knows up to ${latestSchema}.*restore a backup`));
    } finally {
      await fixture.remove();
    }
  });
});
