import type { AnyReport, FireSafetyReport, ReportHeader, ReportPeriod, SavingsReport, WasteCategoryStats, WasteReport } from '../contracts.js';
import { csvDocument, type CsvTable } from './csv.js';
import { iso, type ReportLang } from './format.js';
import { notesIn } from './notes.js';

/**
 * The CSV rendering: one file, one table per report section (see csvDocument: a `# <section>`
 * row, a header row, data rows; a blank line between tables). Column names are English
 * snake_case whatever the language (they are for scripts and pivot tables); numbers are plain,
 * fractions are fractions (0.123, not 12.3 %), instants ISO 8601 UTC, local dates YYYY-MM-DD.
 *
 * Sections:
 * - every report: `report` (key,value: site, periods, settings, totals) … `warnings` (code,device,message)
 * - savings: `lines` (one row per savings line, with fit, uncertainty, cost and CO₂), `monthly`
 *   (line,month,…,cumulative_avoided), `daily` (line,date,projected,actual), `meters`
 * - waste: `categories` (period = current|previous, one row per category), `trend`, `bins`
 * - fire_safety: `alarms` (type,severity,count), `offline` (device,hours), `battery_low`
 */

function kv(rows: [string, unknown][]): CsvTable {
  return { section: 'report', header: ['key', 'value'], rows };
}

function periodRows(prefix: string, p: ReportPeriod): [string, unknown][] {
  return [
    [`${prefix}_from`, iso(p.from)],
    [`${prefix}_to`, iso(p.to)],
    [`${prefix}_first_date`, p.firstDate],
    [`${prefix}_last_date`, p.lastDate],
    [`${prefix}_days`, p.days],
  ];
}

function headerRows(r: ReportHeader & { type: string }): [string, unknown][] {
  return [
    ['type', r.type],
    ...(r.id ? ([['id', r.id]] as [string, unknown][]) : []),
    ['site', r.site.id],
    ['site_name', r.site.name],
    ['timezone', r.site.timezone],
    ['generated_at', iso(r.generatedAt)],
    ...periodRows('period', r.period),
  ];
}

function warnings(r: AnyReport, lang?: ReportLang): CsvTable {
  const notes = lang ? notesIn(r, lang) : r.warnings;
  return { section: 'warnings', header: ['code', 'device', 'line', 'message'], rows: notes.map((w) => [w.code, w.device, w.line, w.message]) };
}

function savingsTables(r: SavingsReport, lang?: ReportLang): CsvTable[] {
  const meta = kv([
    ...headerRows(r),
    ...periodRows('baseline', r.baseline),
    ...(r.requestedBaseline ? periodRows('requested_baseline', r.requestedBaseline) : []),
    ['baseline_sufficiency', r.sufficiency?.status],
    ['baseline_coverage', r.sufficiency?.coverage],
    ['baseline_required_days', r.sufficiency?.requiredDays],
    ['ipmvp', r.method.ipmvp],
    ['model_choice', r.method.model],
    ['method', r.method.description],
    ['emission_factor', r.emissionFactor.key],
    ['kgco2_per_kwh', r.emissionFactor.kgCO2PerKWh],
    ['emission_factor_year', r.emissionFactor.year],
    ['emission_factor_source', r.emissionFactor.source],
    ['emission_factor_scope', r.emissionFactor.scope],
    ['water_kwh_per_m3', r.emissionFactor.waterKWhPerM3],
    ['currency', r.tariffs.currency],
    ['tariff_electricity_per_kwh', r.tariffs.electricity],
    ['tariff_water_per_m3', r.tariffs.water],
    ['total_cost_avoided', r.totals.costAvoided],
    ['total_co2_avoided_kg', r.totals.co2AvoidedKg],
    ['totals_basis', r.totals.basis],
  ]);
  const lines: CsvTable = {
    section: 'lines',
    header: [
      'line', 'scope', 'utility', 'unit', 'purpose', 'building', 'meters', 'model', 'projected', 'actual', 'avoided', 'avoided_fraction',
      'uncertainty', 'uncertainty_fractional', 'confidence', 'significant', 'cost_avoided', 'currency', 'co2_avoided_kg', 'co2_factor',
      'n', 'p', 'r2', 'adj_r2', 'cvrmse', 'nmbe', 'g14_basis', 'cvrmse_max', 'nmbe_max', 'g14_pass', 'completeness_baseline', 'completeness_reporting',
      'claim', 'claim_reasons', 'g14_status', 'fsu_68', 'days_compared', 'baseline_sufficiency', 'baseline_coverage',
      'baseline_temp_min', 'baseline_temp_max', 'reporting_days_outside_temp_range', 'building_name',
    ],
    rows: r.lines.map((l) => [
      l.key, l.scope, l.utility, l.unit, l.purpose, l.building, l.meters.join(' '), l.model.type, l.projected, l.actual, l.avoided, l.avoidedFraction,
      l.uncertainty.absolute, l.uncertainty.fractional, l.uncertainty.confidence, l.significant, l.cost.costAvoided, l.cost.currency, l.cost.co2AvoidedKg,
        l.cost.co2Factor,
      l.fit.n, l.fit.p, l.fit.r2, l.fit.adjR2, l.fit.cvrmse, l.fit.nmbe, l.limits.basis, l.limits.cvrmseMax, l.limits.nmbeMax, l.judgement.pass,
      l.completeness.baseline, l.completeness.reporting,
      l.claim?.status, l.claim?.reasons.join(' '), l.g14?.status, l.g14?.fsu68, l.uncertainty.m, l.sufficiency?.status, l.sufficiency?.coverage,
      l.temperatureRange?.baselineMin, l.temperatureRange?.baselineMax, l.temperatureRange?.outside, l.buildingName,
    ]),
  };
  const monthly: CsvTable = {
    section: 'monthly',
    header: ['line', 'month', 'days', 'projected', 'actual', 'avoided', 'cumulative_avoided'],
    rows: r.lines.flatMap((l) => {
      let cum = 0;
      return l.monthly.map((m) => {
        cum += m.avoided;
        return [l.key, m.month, m.days, m.projected, m.actual, m.avoided, cum];
      });
    }),
  };
  const daily: CsvTable = {
    section: 'daily',
    header: ['line', 'date', 'projected', 'actual'],
    rows: r.lines.flatMap((l) => l.daily.map((d) => [l.key, d.date, d.projected, d.actual])),
  };
  const meters: CsvTable = {
    section: 'meters',
    header: ['device', 'kind', 'building', 'purpose', 'utility', 'unit', 'total', 'days_with_data', 'days_in_period', 'completeness', 'resets', 'gaps', 'name'],
    rows: r.meters.map((m) => [m.device, m.kind, m.building, m.purpose, m.utility, m.unit, m.total, m.daysWithData, m.daysInPeriod, m.completeness,
      m.resets.length, m.gaps.length, m.name]),
  };
  return [meta, lines, monthly, daily, meters, warnings(r, lang)];
}

const categoryRow = (period: string, c: WasteCategoryStats): unknown[] => [
  period, c.category, c.bins, c.collections, c.avgFillAtCollection, c.overflowIncidents, c.overflowHours, c.weightKg, c.volumePct, c.share,
];

function wasteTables(r: WasteReport): CsvTable[] {
  const meta = kv([
    ...headerRows(r),
    ...periodRows('previous', r.previousPeriod),
    ['share_basis', r.shareBasis],
    ['overflow_pct', r.thresholds.overflowPct],
    ['collection_drop_pct', r.thresholds.collectionDropPct],
    ['total_collections', r.totals.collections],
    ['total_overflow_incidents', r.totals.overflowIncidents],
    ['total_overflow_hours', r.totals.overflowHours],
    ['total_weight_kg', r.totals.weightKg],
  ]);
  return [
    meta,
    {
      section: 'categories',
      header: ['period', 'category', 'bins', 'collections', 'avg_fill_at_collection_pct', 'overflow_incidents', 'overflow_hours', 'weight_kg', 'volume_pct', 'share'],
      rows: [...r.categories.map((c) => categoryRow('current', c)), ...r.previousCategories.map((c) => categoryRow('previous', c))],
    },
    {
      section: 'trend',
      header: ['metric', 'current', 'previous', 'change'],
      rows: (Object.entries(r.trend) as [string, WasteReport['trend']['collections']][]).map(([k, t]) => [k, t.current, t.previous, t.change]),
    },
    {
      section: 'bins',
      header: ['device', 'category', 'building', 'collections', 'overflow_incidents', 'overflow_hours'],
      rows: r.bins.map((b) => [b.device, b.category, b.building, b.collections, b.overflowIncidents, b.overflowHours]),
    },
    warnings(r),
  ];
}

function fireTables(r: FireSafetyReport): CsvTable[] {
  const meta = kv([
    ...headerRows(r),
    ['alarms_total', r.alarms.total],
    ['acknowledged', r.response.acknowledged],
    ['cleared', r.response.cleared],
    ['mean_time_to_ack_min', r.response.meanTimeToAckMin],
    ['mean_time_to_clear_min', r.response.meanTimeToClearMin],
    ['nuisance_count', r.nuisance.count],
    ['nuisance_threshold_min', r.nuisance.thresholdMinutes],
    ['test_activations', r.tests.count],
    ['tested_detectors', r.tests.devices],
    ['offline_hours', r.offline.hours],
    ['offline_incidents', r.offline.incidents],
    ['battery_low_threshold_pct', r.batteryLow.thresholdPct],
    ...(r.incidents ? [
      ['fire_incidents', r.incidents.fire], ['confirmed_fires', r.incidents.confirmedFires], ['pre_alarms_only', r.incidents.preAlarmsOnly],
      ['electrical_incidents', r.incidents.electrical], ['incident_mean_time_to_ack_min', r.incidents.meanTimeToAckMin],
    ] as Array<[string, number | null]> : []),
  ]);
  return [
    meta,
    { section: 'alarms', header: ['type', 'severity', 'count'], rows: r.alarms.byTypeAndSeverity.map((a) => [a.type, a.severity, a.count]) },
    { section: 'offline', header: ['device', 'hours'], rows: r.offline.byDevice.map((d) => [d.device, d.hours]) },
    {
      section: 'battery_low',
      header: ['device', 'building', 'location', 'battery_pct', 'read_at'],
      rows: r.batteryLow.detectors.map((d) => [d.device, d.building, d.location, d.battery, iso(d.ts)]),
    },
    warnings(r),
  ];
}

export function reportTables(report: AnyReport, opts: { lang?: ReportLang } = {}): CsvTable[] {
  switch (report.type) {
    case 'savings':
      return savingsTables(report, opts.lang);
    case 'waste':
      return wasteTables(report);
    case 'fire_safety':
      return fireTables(report);
  }
}

export function renderCsv(report: AnyReport, opts: { lang?: ReportLang } = {}): string {
  return csvDocument(reportTables(report, opts));
}
