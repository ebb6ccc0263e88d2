import { pino } from 'pino';
import { Registry } from 'prom-client';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { createOpsExporter, type OpsExporter, type OpsExporterDeps } from '../../alerts/exporters/influxdb.js';
import { eventLine } from '../../alerts/exporters/ops-lines.js';
import { alarmEventMeasurement as EV, fleetStatusMeasurement as ST, type Device } from '../../core/index.js';
import { createInfluxStore, createLatestCache, type LatestCache } from '../../storage/index.js';
import { createInfluxHttp } from '../../storage/influxdb/http.js';
import { influxdAvailability, startInfluxd, type Influxd } from '../helpers/influxd.js';
import { closeHarness, deviceMap, openHarness, removeTempDirs, T0, tempDir, toReading, type Harness } from './harness.js';
import { holdPoint } from '../helpers/hold-point.js';

/**
 * The alarm & fleet status exporter against Debian's influxd (1.6.7) and the real alerts engine on
 * its DuckDB alarm store: tags of exported events, resume after a restart without duplicates or
 * gaps, an InfluxDB outage that loses nothing, and the fleet status gauge.
 */
const { skip } = influxdAvailability();
const silent = pino({ level: 'silent' });

const devices = deviceMap([
  { id: 'sd-1', kind: 'smoke_detector', site: 'chundu', building: 'b1' },
  { id: 'sd-2', kind: 'smoke_detector', site: 'chundu', building: 'b1' },
  { id: 'bin-1', kind: 'smart_bin', site: 'chundu', building: 'b2', category: 'kitchen' },
  { id: 'wm-1', kind: 'water_meter', site: 'chundu', building: 'b2' },
]);
const dev = (id: string) => devices.get(id) as Device;

let influxd: Influxd;
let dbCount = 0;
const open: Array<{ h?: Harness; x?: OpsExporter }> = [];

async function freshDb(): Promise<string> {
  const db = `ops_${process.pid}_${++dbCount}`;
  await influxd.createDatabase(db);
  return db;
}

function exporterFor(h: Harness, db: string, latest: Pick<LatestCache, 'get'>,
  extra: { bufferMax?: number; metrics?: Registry; engine?: OpsExporterDeps['engine'] } = {}): OpsExporter {
  const x = createOpsExporter(
    { influx: { url: influxd.url, db, timeoutMs: 2_000 }, statusIntervalMs: 0, retryBaseMs: 20, retryMaxMs: 200,
      ...(extra.bufferMax ? { bufferMax: extra.bufferMax } : {}) },
    {
      engine: extra.engine ?? h.engine, lastSeq: () => h.db.alarms.lastSeq(), devices: { list: () => [...devices.values()] }, latest,
      logger: silent, metrics: extra.metrics ?? new Registry(), clock: () => h.now.ms,
    },
  );
  open.push({ x });
  return x;
}

/** Toggles presence: every call raises or clears `offline` alarms (one event each). */
async function flap(h: Harness, ids: readonly string[], status: 'online' | 'offline'): Promise<void> {
  for (const id of ids) {
    h.now.ms += 1_000;
    await h.engine.onPresence(id, status, h.now.ms);
  }
  await h.engine.idle();
}

async function exportedSeqs(db: string): Promise<number[]> {
  const s = (await influxd.query(`SELECT "seq" FROM "${EV.name}"`, db)).results[0]?.series?.[0];
  return (s?.values ?? []).map((v) => Number(v[1])).sort((a, b) => a - b);
}
const upTo = (n: number) => Array.from({ length: n }, (_, i) => i + 1);

describe.skipIf(skip)(`alarm & fleet status exporter against Debian's influxd ${skip ?? ''}`, () => {
  beforeAll(async () => {
    influxd = await startInfluxd();
  }, 30_000);
  afterEach(async () => {
    for (const o of open.splice(0)) {
      await o.x?.stop();
      if (o.h) await closeHarness(o.h);
    }
  });
  afterAll(async () => {
    await influxd?.cleanup();
    await removeTempDirs();
  });

  it('exports raised, acked, escalated and cleared events with site, building, type, severity, event and originator tags', async () => {
    const db = await freshDb();
    const h = await openHarness({ dir: await tempDir(), devices });
    open.push({ h });
    const x = exporterFor(h, db, { get: () => undefined });
    x.start();
    await flap(h, ['sd-1', 'bin-1'], 'offline');
    const sd = h.engine.active().find((a) => a.originator.id === 'sd-1');
    if (!sd) throw new Error('no offline alarm for sd-1');
    await h.engine.escalate(sd.id, 'escalation', 'test');
    await h.engine.ack(sd.id, 'guard');
    await flap(h, ['sd-1'], 'online');
    await x.idle();

    const s = (await influxd.query(`SELECT * FROM "${EV.name}"`, db)).results[0]?.series?.[0];
    const rows = (s?.values ?? []).map((v) => Object.fromEntries(s!.columns.map((c, i) => [c, v[i]])));
    const bySeq = new Map(rows.map((r) => [Number(r[EV.fields.seq]), r]));
    expect(h.events.map((e) => e.type)).toEqual(['raised', 'raised', 'escalated', 'acked', 'cleared']);
    expect([...bySeq.keys()].sort((a, b) => a - b)).toEqual(h.events.map((e) => e.seq));
    for (const e of h.events) {
      const r = bySeq.get(e.seq)!;
      expect(r).toMatchObject({
        [EV.tags.site]: 'chundu', [EV.tags.building]: e.alarm.building, [EV.tags.type]: 'offline', [EV.tags.severity]: e.alarm.severity,
        [EV.tags.event]: e.type, [EV.tags.originator]: e.alarm.originator.id, [EV.fields.alarm]: e.alarm.id, [EV.fields.status]: e.alarm.status,
        [EV.fields.escalationLevel]: e.alarm.escalationLevel,
      });
      // ns precision: the point sits in the event's millisecond.
      expect(Math.floor(Number(r.time))).toBe(e.ts);
    }
    expect(bySeq.get(1)).toMatchObject({ [EV.tags.severity]: 'major', [EV.tags.building]: 'b1' }); // smoke detector offline: major
    expect(bySeq.get(2)).toMatchObject({ [EV.tags.severity]: 'minor', [EV.tags.building]: 'b2' });
    expect(x.stats()).toMatchObject({ cursor: 5, exported: 5, dropped: 0 });
  });

  it('resumes after a restart of exporter and engine from the last seq in InfluxDB: no gaps, no duplicates, replays overwrite', async () => {
    const db = await freshDb();
    const dir = await tempDir();
    const now = { ms: T0 };
    const events: Harness['events'] = [];
    let h = await openHarness({ dir, devices, now, events });
    let x = exporterFor(h, db, { get: () => undefined });
    x.start();
    await flap(h, ['sd-1', 'sd-2', 'bin-1'], 'offline');
    await x.idle();
    expect(await exportedSeqs(db)).toEqual([1, 2, 3]);
    await x.stop();
    // Alarms while no exporter runs, then a restart of the engine on the same alarm store.
    await flap(h, ['sd-1', 'sd-2'], 'online');
    await closeHarness(h);
    h = await openHarness({ dir, devices, now, events });
    open.push({ h });
    await flap(h, ['wm-1', 'sd-1'], 'offline');
    const metrics = new Registry();
    x = exporterFor(h, db, { get: () => undefined }, { metrics });
    x.start();
    await x.idle();
    expect(await exportedSeqs(db)).toEqual(upTo(7));
    expect(x.stats()).toMatchObject({ cursor: 7, exported: 4, dropped: 0 }); // 4..7 only: 1..3 were already there
    await flap(h, ['bin-1'], 'online');
    await x.idle();
    expect(await exportedSeqs(db)).toEqual(upTo(8));

    // Replaying every event (as a restart without a cursor would) overwrites the same points.
    const http = createInfluxHttp({ url: influxd.url, db, precision: 'ns' }, { logger: silent });
    await http.write((await h.engine.eventsSince(0)).map(eventLine));
    expect(await exportedSeqs(db)).toEqual(upTo(8));
  });

  it('exports an event published while its catch-up read of the alarm store ran, without waiting for the next one', async () => {
    // Two CI runs queried InfluxDB right after idle() and missed the last event: the catch-up read
    // (start-up, or after evictions) began before that event was stored, answered nothing, and the
    // exporter then waited for the next live event while this one sat in its queue. Here the read is
    // held until the event has been published, so the race happens every time.
    const db = await freshDb();
    const h = await openHarness({ dir: await tempDir(), devices });
    open.push({ h });
    const read = holdPoint();
    const engine: OpsExporterDeps['engine'] = {
      subscribe: (l) => h.engine.subscribe(l), active: () => h.engine.active(),
      async eventsSince(seq, limit) {
        const events = await h.engine.eventsSince(seq, limit);
        read.reach();
        await read.released;
        return events;
      },
    };
    const x = exporterFor(h, db, { get: () => undefined }, { engine });
    x.start();
    await read.reached;
    await flap(h, ['sd-1', 'sd-2'], 'offline');
    expect(h.events.map((e) => e.seq)).toEqual([1, 2]);
    const idle = x.idle();
    read.release();
    await idle;
    expect(await exportedSeqs(db)).toEqual([1, 2]);
    expect(x.stats()).toMatchObject({ cursor: 2, exported: 2, dropped: 0, buffered: 0 });
  });

  it('loses nothing over an InfluxDB outage: retries with backoff, overflows the buffer into the alarm store, catches up', async () => {
    const db = await freshDb();
    const h = await openHarness({ dir: await tempDir(), devices });
    open.push({ h });
    const metrics = new Registry();
    const x = exporterFor(h, db, { get: () => undefined }, { bufferMax: 3, metrics });
    x.start();
    await flap(h, ['sd-1'], 'offline');
    await x.idle();
    await influxd.stop();
    try {
      for (let i = 0; i < 4; i++) {
        await flap(h, ['sd-1', 'sd-2', 'bin-1', 'wm-1'], i % 2 === 0 ? 'online' : 'offline');
      }
      await vi.waitFor(() => expect(x.stats().retrying).toBe(true), { timeout: 15_000 });
    } finally {
      await influxd.start();
    }
    await x.idle();
    const last = await h.db.alarms.lastSeq();
    expect(last).toBeGreaterThan(10);
    expect(await exportedSeqs(db)).toEqual(upTo(last));
    const text = await metrics.metrics();
    expect(text).toMatch(/anju_ops_export_write_failures_total\{stream="events"\} [1-9]/);
    expect(text).toMatch(/anju_ops_export_evicted_total [1-9]/);
    expect(text).not.toMatch(/anju_ops_export_dropped_total\{[^}]*\} [1-9]/);
    expect(x.stats()).toMatchObject({ cursor: last, dropped: 0 });
  }, 20_000);

  it('writes the fleet status gauge: active alarms by severity, devices total / online / offline / never reported', async () => {
    const db = await freshDb();
    const h = await openHarness({ dir: await tempDir(), devices });
    open.push({ h });
    const latest = createLatestCache({ store: createInfluxStore({ url: influxd.url, db }, { logger: silent }) });
    const readings = [
      toReading(dev('sd-1'), 0, { smoke: 0.01 }), toReading(dev('sd-2'), 0, { smoke: 0.01 }), toReading(dev('bin-1'), 0, { fill: 20 }),
    ];
    latest.accept(readings);
    await h.engine.accept(readings);
    await flap(h, ['sd-2'], 'offline'); // sd-2: offline alarm (major); wm-1 never reported
    const x = exporterFor(h, db, latest);
    const at = T0 + 3_600_000;
    expect(await x.writeStatus(at)).toBe(true);
    const s = (await influxd.query(`SELECT * FROM "${ST.name}" GROUP BY "building"`, db)).results[0]?.series ?? [];
    const row = (b: string) => {
      const one = s.find((x) => x.tags?.building === b)!;
      return Object.fromEntries(one.columns.map((c, i) => [c, one.values[0]![i]]));
    };
    const f = ST.fields;
    const sev = ST.activeBySeverity;
    expect(row('b1')).toMatchObject({
      time: at, [ST.tags.site]: 'chundu', [f.devicesTotal]: 2, [f.devicesOnline]: 1, [f.devicesOffline]: 1, [f.devicesNeverReported]: 0,
      [f.alarmsActive]: 1, [f.alarmsUnacked]: 1, [sev.critical]: 0, [sev.major]: 1, [sev.minor]: 0, [sev.warning]: 0,
    });
    expect(row('b2')).toMatchObject({
      [f.devicesTotal]: 2, [f.devicesOnline]: 1, [f.devicesOffline]: 0, [f.devicesNeverReported]: 1, [f.alarmsActive]: 0, [sev.major]: 0,
    });
  });
});
