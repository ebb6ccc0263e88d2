import type { FireSafetyReport, ReportPeriod, SavingsLine, SavingsReport, WasteReport } from '../../reports/contracts.js';

/** Hand-built reports (the contracts' types, no calculation behind them) for the renderer and route tests. */

const site = { id: 'site-1', name: '翠湖花园 "East", A&B <1>', timezone: 'Asia/Shanghai' };
/** 2025-03-01 00:00 +08:00 … 2025-05-01 00:00 +08:00 */
const period: ReportPeriod = { from: Date.UTC(2025, 1, 28, 16), to: Date.UTC(2025, 3, 30, 16), firstDate: '2025-03-01', lastDate: '2025-04-30', days: 61 };
const baseline: ReportPeriod = { from: Date.UTC(2024, 1, 29, 16), to: Date.UTC(2024, 3, 30, 16), firstDate: '2024-03-01', lastDate: '2024-04-30', days: 61 };

function daily(n: number, start: string, projected: number, actual: number) {
  const d0 = Date.parse(`${start}T00:00:00Z`);
  return Array.from({ length: n }, (_, i) => ({
    date: new Date(d0 + i * 86_400_000).toISOString().slice(0, 10),
    projected,
    actual: i === 10 ? null : actual + (i % 3) - 1,
  }));
}

function line(over: Partial<SavingsLine> & Pick<SavingsLine, 'key' | 'utility' | 'unit' | 'scope'>): SavingsLine {
  return {
    meters: ['m-1', 'm-2'],
    model: { type: 'day_type', weekday: 120.5, weekend: 98.25, nWeekday: 43, nWeekend: 18 },
    fit: { n: 61, p: 2, meanY: 114, r2: 0.62, adjR2: 0.61, rmse: 9.1, cvrmse: 0.08, nmbe: 0.0001, rho: 0.3 },
    limits: { basis: 'hourly', cvrmseMax: 0.3, nmbeMax: 0.1, source: 'ASHRAE Guideline 14-2014 §4.3.2.4', note: 'daily data judged by the hourly criteria' },
    judgement: { cvrmse: true, nmbe: true, pass: true },
    completeness: { baseline: 1, reporting: 0.98 },
    projected: 6954, actual: 4172.4, avoided: 2781.6, avoidedFraction: 0.4,
    uncertainty: { confidence: 90, t: 1.67, absolute: 210.5, fractional: 0.0757, onFraction: 0.0303, nEffective: 33, m: 60, method: 'ASHRAE G14 eq. B-14 with lag-1 autocorrelation' },
    significant: true,
    cost: { currency: 'CNY', tariff: 0.617, costAvoided: 1716.25, co2AvoidedKg: 1475.92, co2Factor: 0.5306 },
    monthly: [
      { month: '2025-03', projected: 3534, actual: 2120.4, avoided: 1413.6, days: 31 },
      { month: '2025-04', projected: 3420, actual: 2052, avoided: 1368, days: 30 },
    ],
    daily: daily(61, '2025-03-01', 114, 68.4),
    ...over,
  };
}

export const savingsReport: SavingsReport = {
  type: 'savings',
  id: 'rpt-savings-1',
  generatedAt: Date.UTC(2025, 4, 1, 2, 3, 4),
  site,
  period,
  baseline,
  warnings: [
    { code: 'register_reset', message: 'register went from 99999.5 to 0.2 (rollover)', device: 'm-2' },
    { code: 'data_gap', message: 'no reads from 2025-03-11 02:00 to 09:00, "=cmd" 7 h', device: 'm-1' },
  ],
  method: { ipmvp: 'Option C', model: 'auto', description: 'whole facility, day-type baseline' },
  emissionFactor: { key: 'national-2023', kgCO2PerKWh: 0.5306, year: 2023, source: 'MEE China national grid average', waterKWhPerM3: 0.6 },
  tariffs: { currency: 'CNY', electricity: 0.617, water: 5 },
  lines: [
    line({ key: 'electricity/site', utility: 'electricity', unit: 'kWh', scope: 'site' }),
    line({ key: 'electricity/purpose/common_lighting', utility: 'electricity', unit: 'kWh', scope: 'purpose', purpose: 'common_lighting', meters: ['m-1'] }),
    line({
      key: 'water/site', utility: 'water', unit: 'm³', scope: 'site', meters: ['w-1'],
      model: { type: 'hdd_cdd', intercept: 40.2, betaHdd: 0.8, betaCdd: 1.25, hddBalance: 15, cddBalance: 24, adjR2: 0.71 },
      fit: { n: 61, p: 5, meanY: 50, r2: 0.73, adjR2: 0.71, rmse: 19, cvrmse: 0.38, nmbe: -0.12, rho: 0.5 },
      judgement: { cvrmse: false, nmbe: false, pass: false },
      projected: 3050, actual: 2592.5, avoided: 457.5, avoidedFraction: 0.15, significant: false,
      cost: { currency: 'CNY', tariff: 5, costAvoided: 2287.5, co2AvoidedKg: 145.65, co2Factor: 0.31836 },
      monthly: [
        { month: '2025-03', projected: 1550, actual: 1317.5, avoided: 232.5, days: 31 },
        { month: '2025-04', projected: 1500, actual: 1275, avoided: 225, days: 30 },
      ],
      daily: daily(61, '2025-03-01', 50, 42.5),
    }),
  ],
  meters: [
    { device: 'm-1', kind: 'power_meter', building: 'b1', purpose: 'common_lighting', utility: 'electricity', field: 'energy', unit: 'kWh', total: 2000, daysWithData: 60, daysInPeriod: 61, completeness: 60 / 61, resets: [], gaps: [{ from: Date.UTC(2025, 2, 10, 18), to: Date.UTC(2025, 2, 11, 1), unallocated: 3.2 }] },
    { device: 'm-2', kind: 'power_meter', building: 'b2', purpose: 'household', utility: 'electricity', field: 'energy', unit: 'kWh', total: 2172.4, daysWithData: 61, daysInPeriod: 61, completeness: 1, resets: [{ ts: Date.UTC(2025, 3, 2, 3), previous: 99999.5, value: 0.2 }], gaps: [] },
    { device: 'w-1', kind: 'water_meter', building: 'b1', purpose: 'master', utility: 'water', field: 'volume', unit: 'm³', total: 2592.5, daysWithData: 61, daysInPeriod: 61, completeness: 1, resets: [], gaps: [] },
  ],
  totals: { currency: 'CNY', costAvoided: 4003.75, co2AvoidedKg: 1621.57 },
};

const cat = (category: WasteReport['categories'][number]['category'], collections: number, weightKg: number | null, share: number) => ({
  category, bins: 4, collections, avgFillAtCollection: collections ? 78.5 : null, overflowIncidents: 2, overflowHours: 5.5, weightKg, volumePct: collections * 70, share,
});

export const wasteReport: WasteReport = {
  type: 'waste',
  generatedAt: Date.UTC(2025, 4, 1, 2),
  site,
  period,
  warnings: [],
  previousPeriod: { from: Date.UTC(2024, 11, 31, 16), to: Date.UTC(2025, 1, 28, 16), firstDate: '2025-01-01', lastDate: '2025-02-28', days: 59 },
  shareBasis: 'weight',
  thresholds: { overflowPct: 90, collectionDropPct: 30 },
  categories: [cat('recyclable', 40, 800, 0.2), cat('kitchen', 120, 2400, 0.6), cat('hazardous', 2, 20, 0.005), cat('residual', 60, 780, 0.195)],
  previousCategories: [cat('recyclable', 38, 760, 0.21), cat('kitchen', 110, 2200, 0.6), cat('hazardous', 1, 10, 0.003), cat('residual', 62, 700, 0.187)],
  totals: { collections: 222, overflowIncidents: 8, overflowHours: 22, weightKg: 4000 },
  trend: {
    collections: { current: 222, previous: 211, change: 11 / 211 },
    overflowIncidents: { current: 8, previous: 10, change: -0.2 },
    overflowHours: { current: 22, previous: 0, change: null },
    avgFillAtCollection: { current: 78.5, previous: 80, change: -1.5 / 80 },
  },
  bins: [{ device: 'bin-1', category: 'kitchen', building: 'b1', collections: 30, overflowIncidents: 1, overflowHours: 2.5 }],
};

export const fireSafetyReport: FireSafetyReport = {
  type: 'fire_safety',
  generatedAt: Date.UTC(2025, 4, 1, 2),
  site,
  period,
  warnings: [{ code: 'other', message: 'alarm history starts 2025-03-05' }],
  alarms: {
    total: 7,
    byType: { smoke: 4, heat: 1, co: 1, custom_type: 1 },
    bySeverity: { critical: 5, major: 1, minor: 0, warning: 1 },
    byTypeAndSeverity: [
      { type: 'smoke', severity: 'critical', count: 4 }, { type: 'heat', severity: 'critical', count: 1 },
      { type: 'co', severity: 'major', count: 1 }, { type: 'custom_type', severity: 'warning', count: 1 },
    ],
  },
  response: { meanTimeToAckMin: 3.4, meanTimeToClearMin: 27.75, acknowledged: 6, cleared: 7 },
  nuisance: { count: 2, thresholdMinutes: 5, definition: 'cleared within 5 min, never acknowledged' },
  tests: { count: 3, devices: 3 },
  offline: { hours: 12.5, incidents: 2, byDevice: [{ device: 'smoke-7', hours: 12.5 }] },
  batteryLow: { thresholdPct: 20, detectors: [{ device: 'smoke-3', building: 'b2', location: '3F corridor, "east"', battery: 12, ts: Date.UTC(2025, 3, 29, 4) }] },
};

export const allReports = [savingsReport, wasteReport, fireSafetyReport] as const;
