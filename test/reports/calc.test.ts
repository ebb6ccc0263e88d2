import { describe, expect, it } from 'vitest';
import { fitDayType } from '../../reports/baseline/day-type.js';
import { fitDegreeDay, hdd, cdd } from '../../reports/baseline/degree-day.js';
import { fitMetrics, savingsUncertainty } from '../../reports/baseline/fit.js';
import { dailyFromRegister } from '../../reports/consumption.js';
import { createReports, ReportError } from '../../reports/index.js';
import { tCritical } from '../../reports/stats.js';
import { localMidnight } from '../../reports/time.js';
import type { AlarmStore } from '../../storage/alarms/contract.js';
import type { TelemetryStore } from '../../storage/contract.js';

const TZ = 'Asia/Shanghai';
const H = 3_600_000;
const dates = ['2026-01-05', '2026-01-06', '2026-01-07'];
const m0 = localMidnight('2026-01-05', TZ);

describe('consumption from registers', () => {
  it('uses local (+08:00) midnights, not UTC ones', () => {
    expect(m0).toBe(Date.UTC(2026, 0, 4, 16));
    // Hourly reads, 1 kWh/h, except 10 kWh in the local hour 23:00–24:00 of Jan 5 (15:00 UTC).
    const reads = [];
    let v = 100;
    for (let t = m0; t <= m0 + 72 * H; t += H) { reads.push({ ts: t, value: v }); v += t === m0 + 23 * H ? 10 : 1; }
    const r = dailyFromRegister(reads, dates, TZ, 3 * H);
    expect(r.days.map((d) => d.value)).toEqual([33, 24, 24]);
  });
  it('flags a reset, counts no negative, and marks that day incomplete', () => {
    const reads = [];
    for (let h = 0; h <= 72; h++) reads.push({ ts: m0 + h * H, value: h < 30 ? 99_990 + h : h - 30 });
    const r = dailyFromRegister(reads, dates, TZ, 3 * H);
    expect(r.resets).toEqual([{ ts: m0 + 30 * H, previous: 99_990 + 29, value: 0 }]);
    expect(r.days.map((d) => d.value)).toEqual([24, null, 24]);
  });
  it('reports a long gap, allocates nothing to it, bridges a short one', () => {
    const reads = [];
    for (let h = 0; h <= 72; h++) if (!(h > 26 && h < 40) && h !== 60) reads.push({ ts: m0 + h * H, value: 2 * h });
    const r = dailyFromRegister(reads, dates, TZ, 3 * H);
    expect(r.gaps).toEqual([{ from: m0 + 26 * H, to: m0 + 40 * H, unallocated: 28 }]);
    expect(r.days.map((d) => d.value)).toEqual([48, null, 48]);
  });
});

describe('baselines and G14 metrics', () => {
  it('day-type means, CV(RMSE) and NMBE with n − p', () => {
    // Mon–Sun 2026-01-05..11: weekdays 10,12,10,12,11 (mean 11), weekend 20,22 (mean 21).
    const vals = [10, 12, 10, 12, 11, 20, 22];
    const pts = vals.map((value, i) => ({ date: `2026-01-${String(5 + i).padStart(2, '0')}`, value }));
    const m = fitDayType(pts);
    expect(m.model).toMatchObject({ weekday: 11, weekend: 21 });
    const fit = fitMetrics(vals, pts.map((p) => m.predict(p.date)), m.p);
    // SSres = 1+1+1+1+0+1+1 = 6, n − p = 5, RMSE = √1.2, ȳ = 97/7.
    expect(fit.rmse).toBeCloseTo(Math.sqrt(1.2), 12);
    expect(fit.cvrmse).toBeCloseTo(Math.sqrt(1.2) / (97 / 7), 12);
    expect(fit.nmbe).toBeCloseTo(0, 12);
    expect(fitMetrics([10, 12], [9, 10], 1).nmbe).toBeCloseTo(3 / (1 * 11), 12);
  });
  it('t quantiles and savings uncertainty', () => {
    expect(tCritical(0.9, 10)).toBeCloseTo(1.812, 3);
    expect(tCritical(0.68, 1000)).toBeCloseTo(0.995, 2);
    const u = savingsUncertainty({ n: 100, p: 2, meanY: 10, r2: 0, adjR2: 0, rmse: 1, cvrmse: 0.1, nmbe: 0, rho: 0 }, 1000, 200, 100, 90);
    expect(u.absolute).toBeCloseTo(tCritical(0.9, 98) * 1.26 * 0.1 * 1000 * Math.sqrt(1.02 / 100), 9);
  });
  it('degree-day grid search recovers a known HDD+CDD model', () => {
    const temps = new Map<string, number>();
    const pts = [];
    for (let i = 0; i < 200; i++) {
      const date = new Date(Date.UTC(2025, 0, 1) + i * 86_400_000).toISOString().slice(0, 10);
      const t = -5 + (40 * ((i * 37) % 200)) / 200;
      temps.set(date, t);
      pts.push({ date, value: 100 + 3 * hdd(t, 15) + 5 * cdd(t, 22.22) });
    }
    const m = fitDegreeDay(pts, temps);
    expect(m?.model).toMatchObject({ type: 'hdd_cdd', hddBalance: 15, cddBalance: 22.22 });
    const mm = m?.model as { intercept: number; betaHdd: number; betaCdd: number };
    expect(mm.intercept).toBeCloseTo(100, 6);
    expect(mm.betaHdd).toBeCloseTo(3, 6);
    expect(mm.betaCdd).toBeCloseTo(5, 6);
  });
});

describe('createReports params', () => {
  const devices = [{ id: 'm1', kind: 'power_meter' as const, site: 's', building: 'b', name: 'm1', createdAt: 0, purpose: 'household' as const }];
  const reports = createReports({}, { store: {} as TelemetryStore, alarms: {} as AlarmStore, devices: { list: () => devices } });
  const code = async (p: Parameters<typeof reports.savings>[0]) => reports.savings(p).then(() => 'ok', (e: unknown) => (e instanceof ReportError ? e.code : String(e)));
  it('answers coded errors', async () => {
    expect(await code({ site: 'x', from: '2026-01-01', to: '2026-02-01', baselineFrom: '2025-01-01', baselineTo: '2025-02-01' })).toBe('unknown_site');
    expect(await code({ site: 's', from: '2026-01-01', to: '2026-01-01', baselineFrom: '2025-01-01', baselineTo: '2025-02-01' })).toBe('empty_range');
    expect(await code({ site: 's', from: '2026-01-01', to: '2026-02-01', baselineFrom: '2025-12-15', baselineTo: '2026-01-15' })).toBe('baseline_overlap');
    expect(await code({ site: 's', from: '2020-01-01', to: '2026-02-01', baselineFrom: '2019-01-01', baselineTo: '2019-02-01' })).toBe('range_too_long');
    expect(await code({ site: 's', from: 'yesterday', to: '2026-02-01', baselineFrom: '2019-01-01', baselineTo: '2019-02-01' })).toBe('invalid_params');
  });
});
