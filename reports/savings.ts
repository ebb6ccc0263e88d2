import type { Device } from '../core/index.js';
import type { TelemetryStore } from '../storage/contract.js';
import { reportSufficiency } from './baseline/sufficiency.js';
import { reconcile } from './claims.js';
import { dailyConsumption, isMeter, meterRef } from './consumption.js';
import type {
  BaselineModelChoice, ConfidenceLevel, MeterConsumption, ReportPeriod, ReportSite, ReportWarning, ResolvedReportsConfig, SavingsLine, SavingsReport,
} from './contracts.js';
import { emissionFactor } from './emissions.js';
import { englishNote } from './render/notes.js';
import { savingsLine, type LineSpec } from './savings-line.js';
import { addDays, datesBetween } from './time.js';
import { dailyOutdoorTemperature } from './weather.js';

export interface SavingsInput {
  readonly site: ReportSite;
  readonly period: ReportPeriod;
  /** The baseline used (at most the 365 days before its end, CalTRACK §3.1.3). */
  readonly baseline: ReportPeriod;
  /** The baseline asked for, when it was longer. */
  readonly requestedBaseline?: ReportPeriod;
  readonly devices: readonly Device[];
  /** Building names by id, for the building lines. */
  readonly buildingNames?: ReadonlyMap<string, string>;
  readonly confidence: ConfidenceLevel;
  readonly model: BaselineModelChoice;
  /**
   * Daily mean outdoor temperature, °C, by local date, given with the request (CSV upload): it
   * overrides, day by day, the daily means of the site's weather stations, read from the store.
   */
  readonly temperatures: ReadonlyMap<string, number>;
  readonly now: number;
}

type Note = Omit<ReportWarning, 'message'>;

/** The lines of the report: whole site per utility (IPMVP Option C), per purpose, per building. */
function lineSpecs(meters: readonly MeterConsumption[], buildingNames?: ReadonlyMap<string, string>): LineSpec[] {
  const specs: LineSpec[] = [];
  for (const utility of ['electricity', 'water'] as const) {
    const ms = meters.filter((m) => m.utility === utility);
    if (ms.length === 0) continue;
    // The whole facility is its master meter when it has one; else the sum of its sub-meters.
    const masters = ms.filter((m) => m.purpose === 'master');
    const site = masters.length > 0 ? masters : ms;
    specs.push({ key: `site:${utility}`, scope: 'site', utility, meters: site.map((m) => m.device) });
    for (const purpose of [...new Set(ms.map((m) => m.purpose))]) {
      specs.push({ key: `purpose:${utility}:${purpose}`, scope: 'purpose', utility, purpose, meters: ms.filter((m) => m.purpose === purpose).map((m) => m.device) });
    }
    for (const building of [...new Set(ms.filter((m) => m.purpose !== 'master').map((m) => m.building))].sort()) {
      const name = buildingNames?.get(building);
      specs.push({
        key: `building:${utility}:${building}`, scope: 'building', utility, building, ...(name ? { buildingName: name } : {}),
        meters: ms.filter((m) => m.building === building && m.purpose !== 'master').map((m) => m.device),
      });
    }
  }
  return specs;
}

const r = (x: number, d = 3): number => (Number.isFinite(x) ? Math.round(x * 10 ** d) / 10 ** d : x);

export async function savingsReport(store: TelemetryStore, config: ResolvedReportsConfig, input: SavingsInput): Promise<SavingsReport> {
  const { site, period, baseline } = input;
  const refs = input.devices.filter((d) => d.site === site.id && isMeter(d)).map(meterRef);
  const q = { site: site.id, timezone: site.timezone, maxGapMs: config.maxInterpolationGapMs };
  const factor = emissionFactor(config, site);
  // One read of the station for both periods when they are close (the usual baseline before
  // reporting), side by side with the meters'.
  const [a, b] = baseline.firstDate < period.firstDate ? [baseline, period] : [period, baseline];
  const spans = addDays(a.lastDate, 400) >= b.firstDate ? [{ firstDate: a.firstDate, lastDate: b.lastDate > a.lastDate ? b.lastDate : a.lastDate }] : [a, b];
  const [[base = [], rep = []], stations] = await Promise.all([
    dailyConsumption(store, refs, q, [baseline, period]),
    Promise.all(spans.map((p) => dailyOutdoorTemperature(store, { site: site.id, timezone: site.timezone, firstDate: p.firstDate, lastDate: p.lastDate,
      devices: input.devices }))),
  ]);
  const temperatures = new Map<string, number>();
  for (const station of stations) for (const [date, t] of station) temperatures.set(date, t);
  for (const [date, t] of input.temperatures) temperatures.set(date, t);

  const notes: Note[] = [];
  if (input.requestedBaseline) {
    notes.push({ code: 'baseline_truncated', params: { requestedFrom: input.requestedBaseline.firstDate, requestedTo: input.requestedBaseline.lastDate, usedFrom: baseline.firstDate, usedTo: baseline.lastDate } });
  }
  for (const m of [...base, ...rep]) {
    const meter = m.name ?? m.device;
    for (const x of m.resets) notes.push({ code: 'register_reset', device: m.device, params: { meter, ts: x.ts, previous: x.previous, value: x.value } });
    for (const g of m.gaps) notes.push({ code: 'data_gap', device: m.device, params: { meter, from: g.from, to: g.to, unallocated: r(g.unallocated), unit: m.unit } });
  }

  const ctx = {
    config, factor, baseline, baseDates: datesBetween(baseline.firstDate, baseline.lastDate), repDates: datesBetween(period.firstDate, period.lastDate),
    base, rep, temperatures, model: input.model, confidence: input.confidence,
  };
  const lines: SavingsLine[] = [];
  for (const spec of lineSpecs(rep, input.buildingNames)) {
    const out = savingsLine(spec, ctx);
    notes.push(...out.notes);
    if (out.line) lines.push(out.line);
  }
  notes.push(...reconcile(lines, (l, s, lineRate, siteRate) => ({
    code: 'exceeds_site', line: l.key, message: '', params: { lineRate: r(lineRate, 2), siteRate: r(siteRate, 2), unit: l.unit, siteLine: s.key },
  })));

  const siteLines = lines.filter((l) => l.scope === 'site');
  const sufficiency = reportSufficiency(baseline.days, (siteLines.length ? siteLines : lines).flatMap((l) => (l.sufficiency ? [l.sufficiency] : [])));
  if (sufficiency.status === 'insufficient') {
    notes.unshift({ code: 'insufficient_baseline', params: { days: sufficiency.days, required: sufficiency.requiredDays, coveragePct: sufficiency.coverage, minCoveragePct: sufficiency.minCoverage } });
  }
  // Money and CO₂ are claimed only for what the report can defend: significant whole-site savings.
  const claimed = siteLines.filter((l) => l.significant);
  const report: SavingsReport = {
    type: 'savings', generatedAt: input.now, site, period, baseline, ...(input.requestedBaseline ? { requestedBaseline: input.requestedBaseline } : {}),
    sufficiency, warnings: [],
    method: {
      ipmvp: 'Option C', model: input.model,
      description: 'IPMVP Option C (whole facility): avoided use = baseline model projected onto the reporting period − actual, over days with complete meter data; CalTRACK 2.0 daily methods; ASHRAE Guideline 14-2014 whole-building criteria',
    },
    emissionFactor: factor,
    tariffs: { currency: config.currency, electricity: config.tariffs.electricity, water: config.tariffs.water },
    lines,
    meters: rep.map(({ days: _days, ...rest }) => rest),
    totals: {
      currency: config.currency, basis: 'significant_site_lines',
      costAvoided: r(claimed.reduce((s, l) => s + l.cost.costAvoided, 0), 2), co2AvoidedKg: r(claimed.reduce((s, l) => s + l.cost.co2AvoidedKg, 0), 2),
    },
  };
  return { ...report, warnings: notes.map((n) => ({ ...n, message: englishNote(n, report) })) };
}
