import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { afterAll, describe, expect, it } from 'vitest';
import { chunduCommunity, type Device } from '../../core/index.js';
import { parseRetrofits, runBackfill } from '../../devices-sim/index.js';
import { createReports, type SavingsLine, type SavingsReport } from '../../reports/index.js';
import type { AlarmStore } from '../../storage/alarms/contract.js';
import { createEmbeddedDatabase, createInfluxStore, type TelemetryStore } from '../../storage/index.js';
import { influxdAvailability, startInfluxd, type Influxd } from '../helpers/influxd.js';

/**
 * Truth test: 120 days of the demo community's meters with LED common lighting (×0.6) and low-flow
 * fixtures (×0.85) from 2025-12-22; baseline and reporting periods of 60 days each, symmetric about
 * the winter solstice so that the stairwell lights' night length is the same on both sides. The
 * savings report must find −40 % and −15 % within its own stated uncertainty (90 %).
 */
const logger = pino({ level: 'silent' });
const END = Date.UTC(2026, 1, 19, 16); // 2026-02-20 00:00 +08:00
const meters = (): Device[] => chunduCommunity().devices
  .filter((d) => d.kind === 'power_meter' || d.kind === 'water_meter')
  .map((d) => ({ ...d, name: d.name ?? d.id, createdAt: 0 }));
const params = { site: 'chundu', baselineFrom: '2025-10-23', baselineTo: '2025-12-22', from: '2025-12-22', to: '2026-02-20', confidence: 90 as const };
const noAlarms = {} as AlarmStore;

async function backfillAndReport(store: TelemetryStore): Promise<SavingsReport> {
  const devices = meters();
  await runBackfill({ days: 120, end: END, seed: 7, retrofits: parseRetrofits('led:2025-12-22,lowflow:2025-12-22'), batchSize: 20_000 }, { store, devices, logger });
  const reports = createReports({}, { store, alarms: noAlarms, devices: { list: () => devices }, clock: () => END });
  return reports.savings(params);
}

function checkTruth(report: SavingsReport): void {
  const line = (key: string) => report.lines.find((l) => l.key === key) as SavingsLine;
  const light = line('purpose:electricity:common_lighting');
  const water = line('purpose:water:household');
  for (const [l, truth] of [[light, 0.4], [water, 0.15]] as const) {
    expect(l.completeness.baseline).toBe(1);
    // The backfill stops at 2026-02-20 00:00 with no read there: the last day has no closing read.
    expect(l.completeness.reporting).toBeCloseTo(59 / 60, 6);
    expect(l.uncertainty.onFraction).toBeGreaterThan(0);
    expect(Math.abs(l.avoidedFraction - truth), `${l.key}: found ${l.avoidedFraction} ± ${l.uncertainty.onFraction}`).toBeLessThanOrEqual(l.uncertainty.onFraction);
    expect(l.significant).toBe(true);
  }
  // Elevators were not retrofitted: no significant saving claimed... or a small one within noise.
  const lift = line('purpose:electricity:elevator');
  expect(Math.abs(lift.avoidedFraction)).toBeLessThan(0.1);
  expect(report.emissionFactor).toMatchObject({ key: 'national-2023', kgCO2PerKWh: 0.5306, year: 2023 });
  expect(light.cost.co2AvoidedKg).toBeCloseTo(light.avoided * 0.5306, 1);
}

describe('savings report finds the injected retrofit savings', () => {
  let dir: string | undefined;
  let influx: Influxd | undefined;
  afterAll(async () => {
    if (dir) await rm(dir, { recursive: true, force: true });
    await influx?.cleanup();
  });

  it('on the embedded DuckDB store', async () => {
    dir = await mkdtemp(join(tmpdir(), 'anju-reports-'));
    const db = await createEmbeddedDatabase({ dataDir: dir, memoryLimit: '256MB', threads: 2 }, { logger });
    try {
      checkTruth(await backfillAndReport(db.telemetry));
    } finally {
      await db.close();
    }
  }, 60_000);

  const influxd = influxdAvailability();
  it.skipIf(!influxd.path)(`on real InfluxDB${influxd.skip ? ` (skipped: ${influxd.skip})` : ''}`, async () => {
    influx = await startInfluxd({ database: 'anju' });
    const store = createInfluxStore({ url: influx.url, db: 'anju' }, { logger });
    try {
      checkTruth(await backfillAndReport(store));
    } finally {
      await store.close();
    }
  }, 60_000);
});
