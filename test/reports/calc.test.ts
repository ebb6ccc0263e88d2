import { describe, expect, it } from 'vitest';
import { fitDayType } from '../../reports/baseline/day-type.js';
import { autocorrelationFactor, fitMetrics, savingsUncertainty } from '../../reports/baseline/fit.js';
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
  it('a long silence inside one day loses nothing; across a midnight it is a gap, allocated to no day; a short one is split', () => {
    // 2 kWh an hour over Jan 5–7 (hours 0–72 from Jan 5 00:00 local).
    const readsExcept = (lo: number, hi: number) => {
      const out = [];
      for (let h = 0; h <= 72; h++) if (!(h > lo && h < hi)) out.push({ ts: m0 + h * H, value: 2 * h });
      return out;
    };
    // No reads 26:00–40:00: both ends on Jan 6, so its register advance is Jan 6's, exactly.
    const inDay = dailyFromRegister(readsExcept(26, 40), dates, TZ, 3 * H);
    expect(inDay.gaps).toEqual([]);
    expect(inDay.days.map((d) => d.value)).toEqual([48, 48, 48]);
    // No reads 44:00–52:00: 8 h across midnight, over the 3 h bridge — 16 kWh no day gets.
    const across = dailyFromRegister(readsExcept(44, 52), dates, TZ, 3 * H);
    expect(across.gaps).toEqual([{ from: m0 + 44 * H, to: m0 + 52 * H, unallocated: 16 }]);
    expect(across.days.map((d) => d.value)).toEqual([48, null, null]);
    // No reads 46:00–49:00: 3 h across midnight, bridged and split 2 h | 1 h pro rata.
    const bridged = dailyFromRegister(readsExcept(46, 49), dates, TZ, 3 * H);
    expect(bridged.gaps).toEqual([]);
    expect(bridged.days.map((d) => d.value)).toEqual([48, 48, 48]);
    const narrower = dailyFromRegister(readsExcept(46, 49), dates, TZ, 2 * H);
    expect(narrower.gaps).toEqual([{ from: m0 + 46 * H, to: m0 + 49 * H, unallocated: 6 }]);
    expect(narrower.days.map((d) => d.value)).toEqual([48, null, null]);
  });

  it('a meter read once a day at local midnight gives exact daily values (no bridge needed)', () => {
    const reads = [0, 1, 2, 3].map((d) => ({ ts: m0 + d * 24 * H, value: 10 * d * d }));
    expect(dailyFromRegister(reads, dates, TZ, 3 * H).days.map((d) => d.value)).toEqual([10, 30, 50]);
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
  it('t quantiles and the CalTRACK §4.3.1.4 savings uncertainty, hand-computed', () => {
    expect(tCritical(0.9, 10)).toBeCloseTo(1.812, 3);
    expect(tCritical(0.68, 1000)).toBeCloseTo(0.995, 2);
    // n = 100 baseline days, ρ = 0 (n′ = n), CV 10 %, Q = 100 reporting days projected to 1000, saving 200.
    const fit = { n: 100, p: 2, meanY: 10, r2: 0, adjR2: 0, rmse: 1, cvrmse: 0.1, nmbe: 0, rho: 0 };
    const u = savingsUncertainty(fit, 1000, 200, 100, 90);
    const M = 100 / 30;
    const sunBaltazar = -0.00024 * M * M + 0.03535 * M + 1.00286;
    expect(autocorrelationFactor(M)).toBeCloseTo(sunBaltazar, 12);
    expect(u.absolute).toBeCloseTo(tCritical(0.9, 98) * sunBaltazar * 0.1 * 1000 * Math.sqrt((1 + 2 / 100) / 100), 9);
    expect(u.fractional).toBeCloseTo(u.absolute / 200, 12);
    expect(u.onFraction).toBeCloseTo(u.absolute / 1000, 12);
    // Residual autocorrelation ρ = 0.5: n′ = 100 · 0.5 / 1.5 = 33.3; a negative ρ counts as 0 (n′ ≤ n).
    const rho = savingsUncertainty({ ...fit, rho: 0.5 }, 1000, 200, 100, 90);
    expect(rho.nEffective).toBeCloseTo(100 / 3, 9);
    expect(rho.absolute).toBeCloseTo(tCritical(0.9, 98) * sunBaltazar * 0.1 * 1000 * Math.sqrt(3 * (1 + 2 / (100 / 3)) / 100), 9);
    expect(savingsUncertainty({ ...fit, rho: -0.4 }, 1000, 200, 100, 90).nEffective).toBe(100);
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
