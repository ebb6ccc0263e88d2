import type { BaselineSufficiency, FireSafetyReport, ReportPeriod, SavingsLine, SavingsReport, WasteReport } from '../../reports/contracts.js';

/** Hand-built reports (the contracts' types, no calculation behind them) for the renderer and route tests. */

const site = { id: 'site-1', name: '翠湖花园 "East", A&B <1>', timezone: 'Asia/Shanghai', gridRegion: 'east' as const };
/** 2025-03-01 00:00 +08:00 … 2025-05-01 00:00 +08:00 */
const period: ReportPeriod = { from: Date.UTC(2025, 1, 28, 16), to: Date.UTC(2025, 3, 30, 16), firstDate: '2025-03-01', lastDate: '2025-04-30', days: 61 };
/** The 365 days before it: 2024-03-01 … 2025-02-28. */
const baseline: ReportPeriod = { from: Date.UTC(2024, 1, 29, 16), to: Date.UTC(2025, 1, 28, 16), firstDate: '2024-03-01', lastDate: '2025-02-28', days: 365 };
const sufficient: BaselineSufficiency = { status: 'sufficient', days: 365, requiredDays: 365, coverage: 0.99, minCoverage: 0.9, reasons: [] };

function daily(n: number, start: string, projected: number, actual: number) {
  const d0 = Date.parse(`${start}T00:00:00Z`);
  return Array.from({ length: n }, (_, i) => ({
    date: new Date(d0 + i * 86_400_000).toISOString().slice(0, 10),
    projected: i === 20 ? null : projected,
    actual: i === 10 ? null : actual + (i % 3) - 1,
  }));
}

function line(over: Partial<SavingsLine> & Pick<SavingsLine, 'key' | 'utility' | 'unit' | 'scope'>): SavingsLine {
  return {
    meters: ['m-1', 'm-2'],
    model: { type: 'day_type', weekday: 120.5, weekend: 98.25, nWeekday: 261, nWeekend: 104 },
    fit: { n: 361, p: 2, meanY: 114, r2: 0.62, adjR2: 0.61, rmse: 9.1, cvrmse: 0.08, nmbe: 0.0000001, rho: 0.3 },
    limits: { basis: 'whole_building', cvrmseMax: 0.2, nmbeMax: 0.00005, source: 'ASHRAE Guideline 14-2014, whole-building approach', note: 'NMBE zero by construction' },
    judgement: { cvrmse: true, nmbe: true, pass: true },
    completeness: { baseline: 361 / 365, reporting: 0.98 },
    projected: 6954, actual: 4172.4, avoided: 2781.6, avoidedFraction: 0.4,
    uncertainty: { confidence: 90, t: 1.67, absolute: 210.5, fractional: 0.0757, onFraction: 0.0303, nEffective: 195, m: 59, method: 'CalTRACK 2.0 §4.3.1.4' },
    significant: true,
    claim: { status: 'significant', reasons: [] },
    g14: { status: 'met', fsu68: 0.046, fsuMax: 0.5, cvrmse: 0.08, cvrmseMax: 0.2, reportingMonths: 1.94 },
    sufficiency: sufficient,
    cost: { currency: 'CNY', tariff: 0.617, costAvoided: 1716.25, co2AvoidedKg: 1529.88, co2Factor: 0.55 },
    monthly: [
      { month: '2025-03', projected: 3534, actual: 2120.4, avoided: 1413.6, days: 31 },
      { month: '2025-04', projected: 3420, actual: 2052, avoided: 1368, days: 30 },
    ],
    daily: daily(61, '2025-03-01', 114, 68.4),
    ...over,
  };
}

const waterSite = line({
  key: 'site:water', utility: 'water', unit: 'm³', scope: 'site', meters: ['w-1'],
  model: { type: 'hdd_cdd', intercept: 40.2, betaHdd: 0.8, betaCdd: 1.25, hddBalance: 15, cddBalance: 23.89, adjR2: 0.71 },
  fit: { n: 358, p: 3, meanY: 50, r2: 0.73, adjR2: 0.71, rmse: 19, cvrmse: 0.38, nmbe: 0, rho: 0.5 },
  judgement: { cvrmse: false, nmbe: true, pass: false },
  projected: 3050, actual: 2592.5, avoided: 457.5, avoidedFraction: 0.15, significant: false,
  claim: { status: 'not_significant', reasons: ['fsu_too_high', 'cvrmse_too_high'] },
  g14: { status: 'not_met', fsu68: 0.62, fsuMax: 0.5, cvrmse: 0.38, cvrmseMax: 0.2, reportingMonths: 1.97 },
  temperatureRange: { baselineMin: -3.5, baselineMax: 31.2, days: 60, outside: 2 },
  cost: { currency: 'CNY', tariff: 5, costAvoided: 2287.5, co2AvoidedKg: 150.98, co2Factor: 0.33 },
  monthly: [
    { month: '2025-03', projected: 1550, actual: 1317.5, avoided: 232.5, days: 31 },
    { month: '2025-04', projected: 1500, actual: 1275, avoided: 225, days: 30 },
  ],
  daily: daily(61, '2025-03-01', 50, 42.5),
});

export const savingsReport: SavingsReport = {
  type: 'savings',
  id: 'rpt-savings-1',
  generatedAt: Date.UTC(2025, 4, 1, 2, 3, 4),
  site,
  period,
  baseline,
  sufficiency: sufficient,
  warnings: [
    { code: 'register_reset', message: 'register went from 99999.5 to 0.2 (rollover)', device: 'm-2', params: { meter: '2号楼 "住户" 电表', ts: Date.UTC(2025, 3, 2, 3), previous: 99999.5, value: 0.2 } },
    { code: 'data_gap', message: 'no reads from 2025-03-11 02:00 to 09:00, "=cmd" 7 h', device: 'm-1', params: { meter: '=cmd 表', from: Date.UTC(2025, 2, 10, 18), to: Date.UTC(2025, 2, 11, 1), unallocated: 3.2, unit: 'kWh' } },
    { code: 'temperature_out_of_range', message: '2 of 60 reporting days outside', line: 'site:water', params: { outside: 2, days: 60, min: -3.5, max: 31.2, variant: 'excluded' } },
    { code: 'savings_not_significant', message: 'not significant', line: 'site:water', params: { fsuPct: 0.62, cvrmsePct: 0.38, cvrmseMaxPct: 0.2 } },
    { code: 'exceeds_site', message: 'exceeds the site', line: 'building:water:b3', params: { lineRate: 12.5, siteRate: 9.75, unit: 'm³', siteLine: 'site:water' } },
  ],
  method: { ipmvp: 'Option C', model: 'auto', description: 'whole facility, day-type baseline' },
  emissionFactor: { key: 'east-2023', kgCO2PerKWh: 0.55, year: 2023, source: 'MEE and NBS (China), announcement of the 2023 electricity CO₂ emission factors', scope: 'east', waterKWhPerM3: 0.6 },
  tariffs: { currency: 'CNY', electricity: 0.617, water: 5 },
  lines: [
    line({ key: 'site:electricity', utility: 'electricity', unit: 'kWh', scope: 'site' }),
    line({ key: 'purpose:electricity:common_lighting', utility: 'electricity', unit: 'kWh', scope: 'purpose', purpose: 'common_lighting', meters: ['m-1'] }),
    waterSite,
    // A line as reports stored before claims existed carry it: no claim, no G14 assessment.
    line({
      key: 'building:water:b3', utility: 'water', unit: 'm³', scope: 'building', building: 'b3', buildingName: '3号楼', meters: ['w-3'],
      claim: { status: 'not_significant', reasons: ['fsu_too_high', 'exceeds_site'] }, significant: false, g14: undefined, sufficiency: undefined,
      judgement: { cvrmse: true, nmbe: true, pass: false },
    }),
  ],
  meters: [
    { device: 'm-1', name: '1号楼公共照明', kind: 'power_meter', building: 'b1', purpose: 'common_lighting', utility: 'electricity', field: 'energy', unit: 'kWh', total: 2000, daysWithData: 60, daysInPeriod: 61, completeness: 60 / 61, resets: [], gaps: [{ from: Date.UTC(2025, 2, 10, 18), to: Date.UTC(2025, 2, 11, 1), unallocated: 3.2 }] },
    { device: 'm-2', name: '2号楼 "住户" 电表', kind: 'power_meter', building: 'b2', purpose: 'household', utility: 'electricity', field: 'energy', unit: 'kWh', total: 2172.4, daysWithData: 61, daysInPeriod: 61, completeness: 1, resets: [{ ts: Date.UTC(2025, 3, 2, 3), previous: 99999.5, value: 0.2 }], gaps: [] },
    { device: 'w-1', name: '小区总水表', kind: 'water_meter', building: 'b1', purpose: 'master', utility: 'water', field: 'volume', unit: 'm³', total: 2592.5, daysWithData: 61, daysInPeriod: 61, completeness: 1, resets: [], gaps: [] },
  ],
  totals: { currency: 'CNY', costAvoided: 1716.25, co2AvoidedKg: 1529.88, basis: 'significant_site_lines' },
};

/** The same report on a 61-day baseline: CalTRACK-insufficient, every claim withheld, nothing counted. */
const short: BaselineSufficiency = { status: 'insufficient', days: 61, requiredDays: 365, coverage: 1, minCoverage: 0.9, reasons: ['too_short'] };
export const insufficientSavingsReport: SavingsReport = {
  ...savingsReport,
  id: 'rpt-savings-2',
  baseline: { from: Date.UTC(2024, 11, 28, 16), to: Date.UTC(2025, 1, 28, 16), firstDate: '2024-12-29', lastDate: '2025-02-28', days: 61 },
  sufficiency: short,
  warnings: [{ code: 'insufficient_baseline', message: 'insufficient', params: { days: 61, required: 365, coveragePct: 1, minCoveragePct: 0.9 } }, ...savingsReport.warnings],
  lines: savingsReport.lines.map((l) => ({
    ...l, significant: false, sufficiency: short, claim: { status: 'withheld', reasons: ['insufficient_baseline'] },
    ...(l.g14 ? { g14: { ...l.g14, status: 'withheld' as const } } : {}), judgement: { ...l.judgement, pass: false },
  })),
  totals: { currency: 'CNY', costAvoided: 0, co2AvoidedKg: 0, basis: 'significant_site_lines' },
};

const cat = (category: WasteReport['categories'][number]['category'], collections: number, weightKg: number | null, share: number) => ({
  category, bins: 4, collections, avgFillAtCollection: collections ? 78.5 : null, overflowIncidents: 2, overflowHours: 5.5, weightKg,
    volumePct: collections * 70, share,
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

export const allReports = [savingsReport, insufficientSavingsReport, wasteReport, fireSafetyReport] as const;
