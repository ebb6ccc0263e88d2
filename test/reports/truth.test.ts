import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { afterAll, describe, expect, it } from 'vitest';
import { chunduCommunity, type Device } from '../../core/index.js';
import { parseRetrofits, runBackfill } from '../../devices-sim/index.js';
import { createReports, type SavingsLine, type SavingsReport } from '../../reports/index.js';
import { renderHtml } from '../../reports/render/index.js';
import type { AlarmStore } from '../../storage/alarms/contract.js';
import { createEmbeddedDatabase, createInfluxStore, type TelemetryStore } from '../../storage/index.js';
import { influxdAvailability, startInfluxd, type Influxd } from '../helpers/influxd.js';
import { englishWords, visibleText } from './english.js';

/**
 * Truth tests: the demo community's meters and weather station backfilled by devices-sim with an
 * LED retrofit on common lighting (×0.6 from its date) and nothing else changed, read back through
 * the store's daily rollups and the full savings report.
 *
 * 1. 90 days, the retrofit on day 45: a 45-day baseline, which CalTRACK 2.0 calls insufficient.
 *    The honest report estimates the lighting saving, claims nothing (no "significant", no G14, no
 *    money or CO₂), and no water line — site, purpose or building — even hints at a saving beyond
 *    its own uncertainty. The two periods mirror each other about the coldest day of the simulated
 *    climate (Jan 22–23), so outdoor temperatures overlap and the models are not extrapolated; the
 *    nights, though, are ~6 % shorter in the reporting period (Feb against Dec–Jan), which the
 *    lighting estimate rightly keeps: 1 − 0.6 × 0.94 ≈ 43.5 %.
 * 2. The README's example: 550 days with LED lighting and low-flow fixtures from 2026-06-01, the
 *    year before against the six months after. The baseline is sufficient; both savings are
 *    significant (ASHRAE G14 whole-building criteria met), money and CO₂ at the East China factor.
 */
const logger = pino({ level: 'silent' });
const community = chunduCommunity();
const devices = (kinds: readonly Device['kind'][]): Device[] => community.devices
  .filter((d) => kinds.includes(d.kind))
  .map((d) => ({ ...d, name: d.name ?? d.id, createdAt: 0 }));
const noAlarms = {} as AlarmStore;
const site = { get: (id: string) => (id === 'chundu' ? community.site : undefined) };
const line = (r: SavingsReport, key: string) => r.lines.find((l) => l.key === key) as SavingsLine;

const SHORT_END = Date.UTC(2026, 2, 8, 16); // 2026-03-09 00:00 +08:00
const short = { site: 'chundu', baselineFrom: '2025-12-09', baselineTo: '2026-01-23', from: '2026-01-23', to: '2026-03-09', confidence: 90 as const };

async function shortReport(store: TelemetryStore): Promise<SavingsReport> {
  const list = devices(['power_meter', 'water_meter', 'weather_station']);
  await runBackfill({ days: 90, end: SHORT_END, seed: 7, retrofits: parseRetrofits('led:2026-01-23'), batchSize: 20_000 }, { store, devices: list, logger });
  return createReports({}, { store, alarms: noAlarms, devices: { list: () => list }, sites: site, clock: () => SHORT_END }).savings(short);
}

function checkShort(r: SavingsReport): void {
  expect(r.sufficiency).toMatchObject({ status: 'insufficient', days: 45, requiredDays: 365, reasons: ['too_short'] });
  expect(r.warnings[0]?.code).toBe('insufficient_baseline');
  // The estimate finds the LED retrofit: 40 %, plus the shorter February nights.
  const light = line(r, 'purpose:electricity:common_lighting');
  expect(light.avoidedFraction).toBeGreaterThan(0.38);
  expect(light.avoidedFraction).toBeLessThan(0.47);
  expect(light.uncertainty.m).toBeGreaterThan(35);
  // Nothing is claimed on a 45-day baseline: no line significant, no G14 label, no money or CO₂.
  for (const l of r.lines) {
    expect(l.claim?.status, l.key).toBe('withheld');
    expect(l.claim?.reasons, l.key).toContain('insufficient_baseline');
    expect(l.significant, l.key).toBe(false);
    expect(l.g14?.status, l.key).toBe('withheld');
  }
  expect(r.totals).toMatchObject({ costAvoided: 0, co2AvoidedKg: 0 });
  // No water retrofit: no water line shows a saving beyond its own stated uncertainty, anywhere.
  const water = r.lines.filter((l) => l.utility === 'water');
  expect(water.map((l) => l.scope).sort()).toEqual(['building', 'building', 'building', 'building', 'purpose', 'purpose', 'site']);
  for (const l of water) expect(l.avoidedFraction, `${l.key}: ${l.avoidedFraction} ± ${l.uncertainty.onFraction}`).toBeLessThanOrEqual(l.uncertainty.onFraction);
  // The models were not extrapolated: only days inside the baseline's temperatures were compared.
  for (const l of r.lines) {
    const range = l.temperatureRange;
    expect(range, l.key).toBeDefined();
    expect((range?.outside ?? 0) / (range?.days ?? 1), l.key).toBeLessThanOrEqual(0.1);
  }
  expect(r.emissionFactor).toMatchObject({ key: 'east-2023', kgCO2PerKWh: 0.55, year: 2023 });
}

describe('truth: a 90-day backfill with an LED retrofit, on a baseline CalTRACK calls insufficient', () => {
  let dir: string | undefined;
  let influx: Influxd | undefined;
  afterAll(async () => {
    if (dir) await rm(dir, { recursive: true, force: true });
    await influx?.cleanup();
  });

  it('on the embedded DuckDB store: the lighting saving estimated, nothing claimed, no water saving anywhere; the page says so in Chinese', async () => {
    dir = await mkdtemp(join(tmpdir(), 'anju-reports-'));
    const db = await createEmbeddedDatabase({ dataDir: dir, memoryLimit: '256MB', threads: 2 }, { logger });
    try {
      const r = await shortReport(db.telemetry);
      checkShort(r);
      const zh = renderHtml(r);
      expect(zh).toContain('<section class="status insufficient" role="alert"><h2>基准期数据不足：不认定任何节约量</h2>');
      const data = [community.site.name, community.site.id, community.site.timezone, ...community.devices.flatMap((d) => [d.name ?? '', d.id])];
      expect(englishWords(visibleText(zh), data)).toEqual([]);
    } finally {
      await db.close();
    }
  }, 120_000);

  const influxd = influxdAvailability();
  it.skipIf(!influxd.path)(`on real InfluxDB, the same${influxd.skip ? ` (skipped: ${influxd.skip})` : ''}`, async () => {
    influx = await startInfluxd({ database: 'anju' });
    const store = createInfluxStore({ url: influx.url, db: 'anju' }, { logger });
    try {
      checkShort(await shortReport(store));
    } finally {
      await store.close();
    }
  }, 120_000);
});

describe('truth: the README example — 18 months of two-hourly reads, LED lighting and low-flow fixtures after the first year', () => {
  let dir: string | undefined;
  afterAll(async () => {
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it('on a sufficient baseline the lighting and household-water savings are significant and meet ASHRAE G14; the untouched lifts claim nothing', async () => {
    dir = await mkdtemp(join(tmpdir(), 'anju-reports-'));
    const db = await createEmbeddedDatabase({ dataDir: dir, memoryLimit: '256MB', threads: 2 }, { logger });
    try {
      const list = devices(['power_meter', 'water_meter', 'weather_station']);
      const end = Date.UTC(2026, 11, 1, 16); // 2026-12-02 00:00 +08:00
      // README: `anju sim backfill --days 550 --retrofit led:2026-06-01,lowflow:2026-06-01` (here at 2 h steps, for speed).
      await runBackfill({ days: 550, end, stepMs: 2 * 3_600_000, seed: 7, retrofits: parseRetrofits('led:2026-06-01,lowflow:2026-06-01'), batchSize: 20_000 }, { store: db.telemetry, devices: list, logger });
      const r = await createReports({}, { store: db.telemetry, alarms: noAlarms, devices: { list: () => list }, sites: site, clock: () => end })
        .savings({ site: 'chundu', baselineFrom: '2025-06-01', baselineTo: '2026-06-01', from: '2026-06-01', to: '2026-12-01' });
      expect(r.sufficiency).toMatchObject({ status: 'sufficient', days: 365 });
      for (const [key, truth] of [['purpose:electricity:common_lighting', 0.4], ['purpose:water:household', 0.15]] as const) {
        const l = line(r, key);
        expect(l.claim, key).toEqual({ status: 'significant', reasons: [] });
        expect(l.g14, key).toMatchObject({ status: 'met', cvrmseMax: 0.2 });
        expect(l.g14?.fsu68, key).toBeLessThan(0.5);
        expect(Math.abs(l.avoidedFraction - truth), `${key}: ${l.avoidedFraction}`).toBeLessThan(0.05);
        // The reporting months lie inside the weather the baseline year saw: (almost) nothing extrapolated.
        expect((l.temperatureRange?.outside ?? 0) / (l.temperatureRange?.days ?? 1), key).toBeLessThanOrEqual(0.1);
      }
      const light = line(r, 'purpose:electricity:common_lighting');
      expect(light.cost.co2AvoidedKg).toBeCloseTo(light.avoided * 0.55, 1);
      const lifts = line(r, 'purpose:electricity:elevator');
      expect(lifts.significant && lifts.avoided > 0).toBe(false);
      // Money and CO₂ are only what the report can defend: significant whole-site lines.
      const claimed = r.lines.filter((l) => l.scope === 'site' && l.significant);
      expect(claimed.length).toBeGreaterThan(0);
      expect(r.totals.costAvoided).toBeCloseTo(claimed.reduce((s, l) => s + l.cost.costAvoided, 0), 2);
    } finally {
      await db.close();
    }
  }, 180_000);
});
