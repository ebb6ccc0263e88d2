import { mkdtemp, readFile, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { Registry } from 'prom-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createAlertEngine, defaultAlertEngineConfig, parseRulesConfig, builtinRules, type AlertEngine } from '../../alerts/index.js';
import { createOpsExporter, type OpsExporter } from '../../alerts/exporters/influxdb.js';
import { chunduCommunity, opsMeasurements, type Device, type Reading } from '../../core/index.js';
import { dashboards } from '../../dashboards/grafana/dashboards/index.js';
import { generatedDir, renderDashboards } from '../../dashboards/grafana/generate.js';
import { DEFAULT_SITE_TIMEZONE } from '../../dashboards/grafana/common.js';
import { DATASOURCE } from '../../dashboards/grafana/influxql.js';
import { binOverflow, detectorSilent, kitchenFire, pipeBurst, runBackfill } from '../../devices-sim/index.js';
import { createEmbeddedDatabase, createInfluxStore, createLatestCache, type EmbeddedDatabase, type TelemetryStore } from '../../storage/index.js';
import { influxdAvailability, startInfluxd, type Influxd } from '../helpers/influxd.js';

interface Target { refId: string; datasource?: { type?: string; uid?: string }; query: string; rawQuery?: boolean }
interface Panel { id?: number; title?: string; type: string; datasource?: { uid?: string }; targets?: Target[] }
interface Variable { name: string; type?: string; query: string; datasource?: { uid?: string } }
interface DashboardJson { uid: string; title: string; panels: Panel[]; templating: { list: Variable[] } }

const provisioning = join(generatedDir, '..', 'provisioning');

async function generatedFiles(): Promise<Map<string, DashboardJson>> {
  const out = new Map<string, DashboardJson>();
  for (const name of (await readdir(generatedDir)).filter((f) => f.endsWith('.json')).sort()) {
    out.set(name, JSON.parse(await readFile(join(generatedDir, name), 'utf8')) as DashboardJson);
  }
  return out;
}

describe('Grafana dashboards as code', () => {
  it('committed JSON is exactly what `npm run dashboards` produces (no drift)', async () => {
    const rendered = renderDashboards();
    const committed = (await readdir(generatedDir)).filter((f) => f.endsWith('.json')).sort();
    expect(committed).toEqual([...rendered.keys()].sort());
    for (const [name, text] of rendered) expect(await readFile(join(generatedDir, name), 'utf8'), `${name} drifted: run npm run dashboards`).toBe(text);
  });

  it('has at least the overview, fire safety, waste and energy & water dashboards, with unique uids', async () => {
    const files = await generatedFiles();
    expect([...files.keys()]).toEqual(expect.arrayContaining(['overview.json', 'fire-safety.json', 'waste.json', 'energy-water.json']));
    const uids = [...files.values()].map((d) => d.uid);
    expect(new Set(uids).size).toBe(uids.length);
    expect(Object.keys(dashboards).length).toBe(files.size);
  });

  it('every panel has a unique id and every query uses the provisioned datasource uid', async () => {
    for (const [name, d] of await generatedFiles()) {
      const ids = d.panels.map((p) => p.id);
      expect(ids.every((id) => typeof id === 'number'), name).toBe(true);
      expect(new Set(ids).size, `${name}: duplicate panel ids`).toBe(ids.length);
      for (const p of d.panels) {
        expect(p.datasource?.uid, `${name} / ${p.title}`).toBe(DATASOURCE.uid);
        expect(p.targets?.length, `${name} / ${p.title}`).toBeGreaterThan(0);
        for (const t of p.targets ?? []) {
          expect(t.datasource?.uid).toBe(DATASOURCE.uid);
          expect(t.rawQuery).toBe(true);
        }
      }
      const vars = d.templating.list.map((v) => v.name);
      expect(vars.slice(0, 2)).toEqual(['site', 'building']);
      // A dashboard with daily panels also has the day-boundary zone; every variable a query uses is declared.
      const queries = (d.panels ?? []).flatMap((p) => (p.targets ?? []).map((t) => String(t.query)));
      const used = new Set(queries.flatMap((q) => [...q.matchAll(/\$\{?(\w+)/g)].map((m) => m[1] as string)).filter((v) => v !== 'timeFilter' && v !== '__interval'));
      for (const v of used) expect(vars, `${name} uses $${v}`).toContain(v);
      for (const v of d.templating.list) if (v.type === 'query') expect(v.datasource?.uid).toBe(DATASOURCE.uid);
    }
  });

  it('provisioning files name the same datasource uid, in InfluxQL, and the dashboards provider', async () => {
    for (const f of ['influxdb-1x.yaml', 'influxdb-2x.yaml']) {
      const text = await readFile(join(provisioning, 'datasources', f), 'utf8');
      expect(text).toMatch(new RegExp(`uid: ${DATASOURCE.uid}\\b`));
      expect(text).toMatch(/type: influxdb\b/);
      expect(text).toMatch(/version: InfluxQL\b/);
    }
    const provider = await readFile(join(provisioning, 'dashboards', 'anju.yaml'), 'utf8');
    expect(provider).toMatch(/type: file\b/);
    expect(provider).toMatch(/path: \S+/);
  });
});

const { skip } = influxdAvailability();
const logger = pino({ level: 'silent' });
const DB = 'anju_dashboards';

/** Grafana's macros and template variables, as Grafana would expand them for a 7-day range. */
function substitute(query: string, building: string): string {
  return query
    .replaceAll('$timeFilter', 'time > now() - 7d')
    .replaceAll('$__interval', '1h')
    .replaceAll('${tz:raw}', DEFAULT_SITE_TIMEZONE)
    .replaceAll('$site', 'chundu')
    .replaceAll('$building', building);
}

const HOUR = 3_600_000;

/**
 * Alarms and fleet status the way production makes them: the real alerts engine (on a DuckDB alarm
 * store) is fed every backfilled batch in time order, with a tick per instant, and the real exporter
 * writes its events and an hourly fleet status point to the same influxd. The backfill plays
 * scenarios (a detector going silent, a kitchen fire, a burst pipe, an overflowing bin) so there is
 * something to alarm about; a guard acknowledges and escalates, and a detector drops off (LWT).
 */
function alarmingStore(store: TelemetryStore,
  deps: { engine: AlertEngine; exporter: OpsExporter; latest: ReturnType<typeof createLatestCache>; clock: { ms: number } }): TelemetryStore {
  let nextStatus = 0;
  return {
    ...store,
    async write(batch) {
      await store.write(batch);
      const byTs = new Map<number, Reading[]>();
      for (const r of batch) byTs.set(r.ts, [...(byTs.get(r.ts) ?? []), r]);
      for (const ts of [...byTs.keys()].sort((a, b) => a - b)) {
        deps.clock.ms = ts;
        await deps.engine.tick(ts);
        const readings = byTs.get(ts) as Reading[];
        deps.latest.accept(readings);
        await deps.engine.accept(readings);
        if (ts >= nextStatus) {
          await deps.engine.idle();
          await deps.exporter.writeStatus(ts);
          nextStatus = ts + HOUR;
        }
      }
    },
  };
}

describe.skipIf(skip)(`every panel query returns data from Debian's influxd ${skip ?? ''}`, () => {
  let influxd: Influxd;
  let store: TelemetryStore;
  let alarmDir: string;
  let alarmDb: EmbeddedDatabase;

  beforeAll(async () => {
    influxd = await startInfluxd({ database: DB });
    store = createInfluxStore({ url: influxd.url, db: DB }, { logger });
    const devices: Device[] = chunduCommunity().devices.map((d) => ({ ...d, name: d.name ?? d.id, createdAt: 0 }));
    const byId = new Map(devices.map((d) => [d.id, d]));
    alarmDir = await mkdtemp(join(tmpdir(), 'anju-dash-alarms-'));
    alarmDb = await createEmbeddedDatabase({ dataDir: alarmDir, memoryLimit: '128MB', threads: 1 }, { logger });
    const clock = { ms: 0 };
    const view = { get: (id: string) => byId.get(id), list: () => devices };
    // The backfill reports every 15 min: offline after 20 reporting intervals, not 3 (a power meter reports every 60 s).
    const rules = parseRulesConfig({ all: { offline: { intervals: 20 } } }, builtinRules);
    const engine = createAlertEngine({ ...defaultAlertEngineConfig, rules }, { store: alarmDb.alarms, devices: view, logger, metrics: new Registry(),
      clock: () => clock.ms });
    await engine.start();
    const latest = createLatestCache({ store });
    const exporter = createOpsExporter(
      { influx: { url: influxd.url, db: DB }, statusIntervalMs: 0 },
      { engine, lastSeq: () => alarmDb.alarms.lastSeq(), devices: view, latest, logger, metrics: new Registry(), clock: () => clock.ms },
    );
    exporter.start();
    const end = Math.floor(Date.now() / HOUR) * HOUR;
    const at = (hoursAgo: number) => end - hoursAgo * HOUR;
    // Three days of the demo community, ending now: inside every panel's 7-day range.
    await runBackfill(
      {
        days: 3, seed: 7, batchSize: 20_000, end,
        scenarios: [
          detectorSilent('chundu-b1-sd-u1', at(60)), kitchenFire('chundu-b2-sd-301', at(30)), pipeBurst('chundu-b1-wm-202', at(20)),
          binOverflow('chundu-bin1-kitchen', at(10)),
        ],
      },
      { store: alarmingStore(store, { engine, exporter, latest, clock }), devices, logger },
    );
    await engine.idle();
    // The guard at the console: acknowledge one alarm, escalate another; a detector drops off.
    const [first, second] = engine.active();
    if (first) await engine.ack(first.id, 'guard');
    if (second) await engine.escalate(second.id, 'escalation', 'unacknowledged');
    await engine.onPresence('chundu-b1-sd-101', 'offline', clock.ms);
    await engine.idle();
    await exporter.writeStatus(clock.ms);
    await exporter.idle();
    await exporter.stop();
    await engine.close();
  }, 60_000);
  afterAll(async () => {
    await store?.close();
    await alarmDb?.close();
    await influxd?.cleanup();
    if (alarmDir) await rm(alarmDir, { recursive: true, force: true });
  });

  it('the exporter wrote every alarm event of the engine and the fleet status, offline devices included', async () => {
    const count = async (q: string) => Number((await influxd.query(q, DB)).results[0]?.series?.[0]?.values[0]?.[1] ?? 0);
    const events = opsMeasurements.alarmEvent;
    const status = opsMeasurements.fleetStatus;
    expect(await count(`SELECT count("${events.fields.seq}") FROM "${events.name}"`)).toBe(await alarmDb.alarms.lastSeq());
    const kinds = (await influxd.query(`SHOW TAG VALUES FROM "${events.name}" WITH KEY = "${events.tags.event}"`, DB)).results[0]?.series?.[0]?.values.map((v) => v[1]);
    expect(kinds).toEqual(expect.arrayContaining(['raised', 'cleared', 'acked', 'escalated']));
    expect(await count(`SELECT sum("n") FROM (SELECT last("${status.fields.devicesOffline}") AS "n" FROM "${status.name}" GROUP BY "building")`)).toBeGreaterThanOrEqual(2);
  });

  it('template variable queries list the demo site and its buildings', async () => {
    const files = await generatedFiles();
    const d = files.get('fire-safety.json') as DashboardJson;
    const values = async (v: Variable) => {
      const series = (await influxd.query(substitute(v.query, 'b1'), DB)).results[0]?.series ?? [];
      return series.flatMap((s) => s.values.map((row) => row[s.columns.indexOf('value')]));
    };
    const [site, building] = d.templating.list as [Variable, Variable];
    expect(await values(site)).toContain('chundu');
    expect(await values(building)).toEqual(expect.arrayContaining(['b1', 'b2', 'b3', 'b4']));
  });

  // One building, and "All" as Grafana expands a multi-value variable into a regex group.
  for (const building of ['b1', '(b1|b2|b3|b4)']) {
    it(`every panel query returns non-empty series ($building = ${building})`, async () => {
      const empty: string[] = [];
      let count = 0;
      for (const [name, d] of await generatedFiles()) {
        for (const p of d.panels) {
          for (const t of p.targets ?? []) {
            const q = substitute(t.query, building);
            expect(q, 'an unexpanded Grafana variable').not.toMatch(/\$(?!tag_)\w/);
            const results = (await influxd.query(q, DB)).results;
            const rows = results.flatMap((r) => r.series ?? []).reduce((n, s) => n + s.values.length, 0);
            count += 1;
            if (rows === 0) empty.push(`${name} / ${p.title} / ${t.refId}: ${q}`);
          }
        }
      }
      expect(count).toBeGreaterThan(10);
      expect(empty).toEqual([]);
    });
  }
});
