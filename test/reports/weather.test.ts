import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { kinds, type Device, type Reading } from '../../core/index.js';
import { hdd } from '../../reports/baseline/caltrack.js';
import { createReports, type SavingsLine } from '../../reports/index.js';
import { addDays, datesBetween, localMidnight } from '../../reports/time.js';
import { dailyOutdoorTemperature } from '../../reports/weather.js';
import { createEmbeddedDatabase, type EmbeddedDatabase } from '../../storage/index.js';

/**
 * The weather_station kind end to end on a real DuckDB store: its table exists on open, readings
 * round-trip, the daily outdoor mean is taken per local (+08:00) day, and the savings report's
 * `model: 'auto'` picks a CalTRACK HDD model from the station's data.
 *
 * Synthetic site: a station whose day d reads T_d − 2 and T_d + 2 alternately every 10 min (so each
 * hourly bucket, and the day, averages exactly T_d), and a master power meter whose daily use is
 * 50 + 3·HDD(18 °C) in the baseline and 0.8 × that in the reporting period (a 20 % saving).
 * Hand-computed expectations: at Tb = 18 °C the regression is exact (intercept 50, slope 3). The
 * grid is in 1 °F steps (…, 64 °F = 17.78 °C, 65 °F = 18.33 °C, …), so the search must land on
 * one of those two neighbours, and since no day's T_d lies between them, the slope there stays
 * within a few % of 3. The avoided energy is 0.2 × Σ(50 + 3·HDD18(T_d)) over the reporting days.
 */
const logger = pino({ level: 'silent' });
const TZ = 'Asia/Shanghai';
const H = 3_600_000;
const SITE = 'wx';
const device = (id: string, kind: Device['kind'], extra: Partial<Device> = {}): Device => ({ id, kind, site: SITE, building: 'b1', name: id, createdAt: 0, ...extra });
const station = device('wx-1', 'weather_station');
const meter = device('pm-master', 'power_meter', { purpose: 'master' });

const baselineDates = datesBetween('2025-11-01', '2025-12-30'); // 60 days
const reportingDates = datesBetween('2025-12-31', '2026-02-28'); // 60 days
const allDates = [...baselineDates, ...reportingDates];
// Integer daily means from −6 to 30 °C, never 18 (between the grid neighbours 17.78 and 18.33).
const temps = allDates.map((_, i) => {
  const t = Math.round(12 + 18 * Math.sin((2 * Math.PI * i) / 17));
  return t === 18 ? 19 : t;
});
const tempOf = new Map(allDates.map((d, i) => [d, temps[i] as number]));
const trueUse = (t: number): number => 50 + 3 * hdd(t, 18);

function readings(): Reading[] {
  const out: Reading[] = [];
  let register = 1000;
  allDates.forEach((date, i) => {
    const m0 = localMidnight(date, TZ);
    const t = temps[i] as number;
    for (let k = 0; k < 144; k++) {
      out.push({ device: station.id, kind: 'weather_station', site: SITE, building: 'b1', ts: m0 + k * 600_000, fields: { temperature: t + (k % 2 === 0 ? -2 : 2), humidity: 60, battery: 90 } });
    }
    const perHour = (trueUse(t) * (i < baselineDates.length ? 1 : 0.8)) / 24;
    for (let h = 0; h < 24; h++) {
      out.push({ device: meter.id, kind: 'power_meter', site: SITE, building: 'b1', ts: m0 + h * H, fields: { energy: register } });
      register += perHour;
    }
  });
  // The closing read of the last day.
  out.push({ device: meter.id, kind: 'power_meter', site: SITE, building: 'b1', ts: localMidnight(addDays(allDates[allDates.length - 1] as string, 1), TZ), fields: { energy: register } });
  return out;
}

describe('weather_station kind', () => {
  it('is defined with temperature as main field, humidity and battery, 10-min reporting', () => {
    const k = kinds.weather_station;
    expect(k.mainField).toBe('temperature');
    expect(Object.keys(k.fields).sort()).toEqual(['battery', 'humidity', 'temperature']);
    expect(k.fields.temperature?.unit).toBe('°C');
    expect(k.fields.humidity?.unit).toBe('%RH');
    expect(k.reportingIntervalS).toBe(600);
    expect(k.payload.safeParse({ temperature: 21.5, humidity: 40 }).success).toBe(true);
    expect(k.payload.safeParse({ humidity: 40 }).success).toBe(false);
    expect(k.payload.safeParse({ temperature: 21, humidity: 101 }).success).toBe(false);
  });
});

describe('outdoor temperature from a weather station (embedded DuckDB)', () => {
  let dir: string;
  let db: EmbeddedDatabase;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'anju-weather-'));
    db = await createEmbeddedDatabase({ dataDir: dir, memoryLimit: '256MB', threads: 2 }, { logger });
    await db.telemetry.write(readings());
  }, 60_000);
  afterAll(async () => {
    await db?.close();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it('creates the weather_station table on open; a reading round-trips', async () => {
    const latest = await db.telemetry.latest(station.id);
    const lastDay = allDates[allDates.length - 1] as string;
    expect(latest).toMatchObject({ device: station.id, kind: 'weather_station', site: SITE, ts: localMidnight(lastDay, TZ) + 143 * 600_000 });
    expect(latest?.fields).toEqual({ temperature: (tempOf.get(lastDay) as number) + 2, humidity: 60, battery: 90 });
    const first = await db.telemetry.series({ kind: 'weather_station', device: station.id, from: 0, to: localMidnight('2025-11-02', TZ) });
    expect(first.length).toBe(144);
    expect(first[0]?.values).toEqual({ temperature: (temps[0] as number) - 2, humidity: 60, battery: 90 });
  });

  it('gives the daily mean per local day, and drops days with less than half of their hours', async () => {
    const t = await dailyOutdoorTemperature(db.telemetry, { site: SITE, timezone: TZ, firstDate: '2025-11-01', lastDate: '2025-11-05', devices: [station, meter] });
    expect([...t]).toEqual(allDates.slice(0, 5).map((d) => [d, tempOf.get(d)]));
    // A site without a registered station reads nothing.
    expect((await dailyOutdoorTemperature(db.telemetry, { site: SITE, timezone: TZ, firstDate: '2025-11-01', lastDate: '2025-11-05', devices: [meter] })).size).toBe(0);
    // Half a day of readings (12 of 24 hours) still counts; 11 hours does not.
    const half: Reading[] = [];
    const m0 = localMidnight('2026-03-10', TZ);
    const m1 = localMidnight('2026-03-11', TZ);
    for (let k = 0; k < 72; k++) half.push({ device: station.id, kind: 'weather_station', site: SITE, building: 'b1', ts: m0 + k * 600_000, fields: { temperature: 7 } });
    for (let k = 0; k < 66; k++) half.push({ device: station.id, kind: 'weather_station', site: SITE, building: 'b1', ts: m1 + k * 600_000, fields: { temperature: 9 } });
    await db.telemetry.write(half);
    const partial = await dailyOutdoorTemperature(db.telemetry, { site: SITE, timezone: TZ, firstDate: '2026-03-10', lastDate: '2026-03-11', devices: [station] });
    expect([...partial]).toEqual([['2026-03-10', 7]]);
  });

  it("savings with model 'auto' picks an HDD model near 18 °C with slope ≈ 3 and estimates the 20 % saving, claimed only as an estimate on a 60-day baseline", async () => {
    const reports = createReports({}, { store: db.telemetry, alarms: {} as never, devices: { list: () => [station, meter] }, clock: () => Date.UTC(2026, 2,
      1) });
    const report = await reports.savings({ site: SITE, baselineFrom: '2025-11-01', baselineTo: '2025-12-31', from: '2025-12-31', to: '2026-03-01', model: 'auto' });
    const line = report.lines.find((l) => l.key === 'site:electricity') as SavingsLine;
    expect(line.completeness).toEqual({ baseline: 1, reporting: 1 });
    const model = line.model;
    expect(model.type).toBe('hdd');
    if (model.type !== 'hdd') return;
    // The 1 °F grid's neighbours of 18 °C: 64 °F = 17.78 °C and 65 °F = 18.33 °C.
    expect([(64 - 32) * 5 / 9, (65 - 32) * 5 / 9].some((b) => Math.abs(b - (model.hddBalance as number)) < 1e-9)).toBe(true);
    expect(model.betaHdd).toBeGreaterThan(3 * 0.97);
    expect(model.betaHdd).toBeLessThan(3 * 1.03);
    expect(Math.abs(model.intercept - 50)).toBeLessThan(1.5);
    expect(line.fit.r2).toBeGreaterThan(0.999);
    const trueProjected = reportingDates.reduce((s, d) => s + trueUse(tempOf.get(d) as number), 0);
    expect(line.actual).toBeCloseTo(0.8 * trueProjected, 2);
    expect(Math.abs(line.projected - trueProjected) / trueProjected).toBeLessThan(0.005);
    expect(Math.abs(line.avoidedFraction - 0.2)).toBeLessThan(0.005);
    // Both periods see the same temperatures, so nothing is extrapolated; but 60 days are not the
    // 365 CalTRACK asks for: the estimate stands, no claim does.
    expect(line.temperatureRange).toMatchObject({ outside: 0, days: 60 });
    expect(line.claim).toEqual({ status: 'withheld', reasons: ['insufficient_baseline'] });
    expect(line.significant).toBe(false);
    expect(report.sufficiency).toMatchObject({ status: 'insufficient', days: 60, requiredDays: 365, reasons: ['too_short'] });
  }, 60_000);

  it('without a station auto falls back to day type; the same temperatures uploaded give the same model', async () => {
    const noStation = createReports({}, { store: db.telemetry, alarms: {} as never, devices: { list: () => [meter] }, clock: () => Date.UTC(2026, 2, 1) });
    const p = { site: SITE, baselineFrom: '2025-11-01', baselineTo: '2025-12-31', from: '2025-12-31', to: '2026-03-01' };
    const dayType = await noStation.savings(p);
    expect(dayType.lines[0]?.model.type).toBe('day_type');
    // The same temperatures given with the request (a CSV upload) give the same model.
    const uploaded = await noStation.savings({ ...p, temperatures: allDates.map((date) => ({ date, temperature: tempOf.get(date) as number })) });
    const withStation = await createReports({}, { store: db.telemetry, alarms: {} as never, devices: { list: () => [station, meter] },
      clock: () => 0 }).savings(p);
    expect(uploaded.lines[0]?.model).toEqual(withStation.lines[0]?.model);
  }, 60_000);
});
