import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Device, Reading } from '../../core/index.js';
import { createReports } from '../../reports/index.js';
import { localMidnight } from '../../reports/time.js';
import type { Alarm, Severity } from '../../storage/alarms/contract.js';
import { createEmbeddedDatabase, type EmbeddedDatabase, type Incident } from '../../storage/index.js';

/**
 * Fire-safety report on a hand-built alarm history (real DuckDB AlarmStore) and detector readings.
 * Period 2026-03-02…03-03 (+08:00), P its first midnight; minutes after each alarm's start:
 *   A1 smoke sd-1 critical: ack 2, clear 20        A2 smoke sd-2 critical: clear 3, never acked (nuisance)
 *   A3 heat sd-1 major: ack 10, clear 70           A4 co sd-3 major: clear 6, never acked (not < 5 min)
 *   A5 battery sd-3 warning: clear 1 (not a nuisance: not a fire condition)
 *   A6 offline sd-2: P−2h…P+4h (4 h in period, raised before it)   A7 offline sd-3: P+40h, still open (8 h)
 *   A8 bin_fill on a bin (not fire safety)  A9 fire_risk building b1 major: ack 4, clear 30
 *   A10 smoke sd-1 before the period.
 * Raised in scope: A1 A2 A3 A4 A5 A7 A9 = 7. Mean ack (2 + 10 + 4) / 3 = 5.33 min; mean clear
 * (20 + 3 + 70 + 6 + 1 + 30) / 6 = 21.67 min. Offline 4 + 8 = 12 h. Tests: sd-1 one press (two
 * consecutive test readings), sd-2 one. Battery ≤ 20 %: sd-2 (15) and sd-3 (20, whose latest
 * reading is alarm-only and carries no battery).
 */
const logger = pino({ level: 'silent' });
const TZ = 'Asia/Shanghai';
const H = 3_600_000;
const MIN = 60_000;
const P = localMidnight('2026-03-02', TZ);
const sd = (id: string): Device => ({ id, kind: 'smoke_detector', site: 's1', building: 'b1', name: id, location: `${id} hall`, createdAt: 0 });
const devices: Device[] = [sd('sd-1'), sd('sd-2'), sd('sd-3'), { id: 'bin-1', kind: 'smart_bin', site: 's1', building: 'b1', name: 'bin-1', category: 'kitchen', createdAt: 0 }];

let n = 0;
function alarm(type: string, origin: string, severity: Severity, start: number, ackMin?: number, clearMin?: number, building = false): Alarm {
  const ackTs = ackMin === undefined ? undefined : start + ackMin * MIN;
  const clearTs = clearMin === undefined ? undefined : start + clearMin * MIN;
  const status = clearTs === undefined ? (ackTs === undefined ? 'active_unack' : 'active_ack') : ackTs === undefined ? 'cleared_unack' : 'cleared_ack';
  return {
    id: `a${++n}`, type, originator: { kind: building ? 'building' : 'device', id: origin }, site: 's1', building: 'b1', severity, status,
    startTs: start, lastUpdateTs: Math.max(start, ackTs ?? 0, clearTs ?? 0), ...(ackTs !== undefined ? { ackTs } : {}),
      ...(clearTs !== undefined ? { clearTs } : {}),
    escalationLevel: 0, count: 1, details: {}, timeline: [],
  };
}

const alarms: Alarm[] = [
  alarm('smoke', 'sd-1', 'critical', P + 1 * H, 2, 20),
  alarm('smoke', 'sd-2', 'critical', P + 3 * H, undefined, 3),
  alarm('heat', 'sd-1', 'major', P + 5 * H, 10, 70),
  alarm('co', 'sd-3', 'major', P + 30 * H, undefined, 6),
  alarm('battery', 'sd-3', 'warning', P + 6 * H, undefined, 1),
  alarm('offline', 'sd-2', 'major', P - 2 * H, undefined, 6 * 60),
  alarm('offline', 'sd-3', 'minor', P + 40 * H),
  alarm('bin_fill', 'bin-1', 'minor', P + 2 * H),
  alarm('fire_risk', 'b1', 'major', P + 10 * H, 4, 30, true),
  alarm('smoke', 'sd-1', 'critical', P - 5 * H, undefined, 60),
];

const reading = (device: string, ts: number, fields: Reading['fields']): Reading => ({ device, kind: 'smoke_detector', site: 's1', building: 'b1', ts, fields });
const readings: Reading[] = [
  reading('sd-1', P - H, { smoke: 0, test: true }),
  reading('sd-1', P, { smoke: 0.1, battery: 85 }),
  reading('sd-1', P + 12 * H, { smoke: 0.1, test: true }),
  reading('sd-1', P + 12 * H + 5 * MIN, { smoke: 0.1, test: true }),
  reading('sd-1', P + 12 * H + 10 * MIN, { smoke: 0.1, test: false, battery: 85 }),
  reading('sd-2', P, { smoke: 0, battery: 15 }),
  reading('sd-2', P + 20 * H, { alarm: false, test: true, battery: 15 }),
  reading('sd-3', P + H, { smoke: 0, battery: 20 }),
  reading('sd-3', P + 2 * H, { alarm: false }),
];

/**
 * Incidents: a confirmed fire in b1 (acknowledged after 3 min), a pre-alarm in b2 never confirmed
 * nor acknowledged, an electrical one in b1 (acknowledged after 7 min), a water one (not fire
 * safety) and a fire before the period. → fire 2, confirmed 1, pre-alarm only 1, electrical 1,
 * mean time to acknowledge (3 + 7) / 2 = 5 min.
 */
const incident = (id: string, over: Partial<Incident>): Incident => ({
  id, hazard: 'fire', site: 's1', building: 'b1', level: 'fire', severity: 'critical', status: 'cleared_ack', startTs: P + 4 * H, lastUpdateTs: P + 5 * H,
  escalationLevel: 0, members: [], timeline: [], ...over,
});
const incidents: Incident[] = [
  incident('i1', { ackTs: P + 4 * H + 3 * MIN, clearTs: P + 5 * H }),
  incident('i2', { building: 'b2', level: 'pre_alarm', status: 'cleared_unack', startTs: P + 8 * H, clearTs: P + 9 * H }),
  incident('i3', { hazard: 'electrical', level: 'alarm', severity: 'major', startTs: P + 30 * H, ackTs: P + 30 * H + 7 * MIN, clearTs: P + 31 * H }),
  incident('i4', { hazard: 'water', level: 'alarm', severity: 'major', building: 'b3', startTs: P + 2 * H, clearTs: P + 3 * H }),
  incident('i5', { building: 'b4', startTs: P - 3 * H, clearTs: P - 2 * H }),
];

describe('fire-safety report (hand-computed, embedded DuckDB)', () => {
  let dir: string;
  let db: EmbeddedDatabase;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'anju-fire-'));
    db = await createEmbeddedDatabase({ dataDir: dir, memoryLimit: '256MB', threads: 2 }, { logger });
    await db.telemetry.write(readings);
    for (const a of alarms) await db.alarms.record(a, { type: 'raised', ts: a.startTs });
    await db.incidents.recordMany(incidents.map((i) => ({ incident: i, event: { type: 'raised' as const, ts: i.startTs } })));
  }, 60_000);
  afterAll(async () => {
    await db?.close();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it('counts, times, nuisance, tests, offline hours and low batteries', async () => {
    const reports = createReports({}, { store: db.telemetry, alarms: db.alarms, devices: { list: () => devices }, clock: () => P + 72 * H });
    const r = await reports.fireSafety({ site: 's1', from: '2026-03-02', to: '2026-03-04' });
    expect(r.alarms.total).toBe(7);
    expect(r.alarms.byType).toEqual({ smoke: 2, heat: 1, co: 1, battery: 1, offline: 1, fire_risk: 1 });
    expect(r.alarms.bySeverity).toEqual({ critical: 2, major: 3, minor: 1, warning: 1 });
    expect(r.response).toEqual({ meanTimeToAckMin: 5.33, meanTimeToClearMin: 21.67, acknowledged: 3, cleared: 6 });
    expect(r.nuisance.count).toBe(1);
    expect(r.tests).toEqual({ count: 2, devices: 2 });
    expect(r.offline.hours).toBe(12);
    expect(r.offline.incidents).toBe(2);
    expect(r.offline.byDevice).toEqual([{ device: 'sd-3', hours: 8 }, { device: 'sd-2', hours: 4 }]);
    expect(r.batteryLow.thresholdPct).toBe(20);
    expect(r.batteryLow.detectors).toEqual([
      { device: 'sd-2', building: 'b1', location: 'sd-2 hall', battery: 15, ts: P + 20 * H },
      { device: 'sd-3', building: 'b1', location: 'sd-3 hall', battery: 20, ts: P + H },
    ]);
    expect(r.incidents).toBeUndefined();
  });

  it('counts the incidents the control room worked: fires confirmed or only pre-alarms, electrical, time to acknowledge', async () => {
    const reports = createReports({}, { store: db.telemetry, alarms: db.alarms, incidents: db.incidents, devices: { list: () => devices },
      clock: () => P + 72 * H });
    const r = await reports.fireSafety({ site: 's1', from: '2026-03-02', to: '2026-03-04' });
    expect(r.incidents).toEqual({ fire: 2, confirmedFires: 1, preAlarmsOnly: 1, electrical: 1, meanTimeToAckMin: 5 });
  });
});
