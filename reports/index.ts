import type { z } from 'zod';
import type { Device, GridRegion } from '../core/index.js';
import type { AlarmStore } from '../storage/alarms/contract.js';
import type { TelemetryStore } from '../storage/contract.js';
import type { IncidentStore } from '../storage/incidents/contract.js';
import {
  fireSafetyParamsSchema, ReportError, reportsConfigSchema, savingsParamsSchema, wasteParamsSchema,
  type FireSafetyParams, type FireSafetyReport, type ReportPeriod, type ReportsConfig, type ReportSite, type SavingsParams,
  type SavingsReport, type WasteParams, type WasteReport,
} from './contracts.js';
import { fireSafetyReport } from './fire-safety.js';
import { savingsReport } from './savings.js';
import { caltrackBaselineDays } from './baseline/sufficiency.js';
import { addDays, isValidTimezone, localMidnight, wholeDays } from './time.js';
import { wasteReport } from './waste.js';

export * from './contracts.js';
// What the API's consumption screen needs: hourly use per site, on local days.
export { HOUR_MS, siteHourlyUse, type HourlyRegisterQuery, type HourlyUse } from './hourly.js';
export { addDays, localDate, localMidnight } from './time.js';

export interface ReportsDeps {
  store: TelemetryStore;
  alarms: AlarmStore;
  /** For the fire-safety report's incident counts; without it they are left out. */
  incidents?: Pick<IncidentStore, 'list'>;
  devices: { list(): readonly Device[] };
  /** Sites by id (name, time zone, grid region); a site only known from its devices gets the default zone. */
  sites?: { get(id: string): { id: string; name: string; timezone?: string; gridRegion?: GridRegion } | undefined };
  /** Building names of a site, by building id (the savings report names building lines by them). */
  buildings?: { names(site: string): ReadonlyMap<string, string> };
  clock?: () => number;
}

/**
 * Whose report it is: a caller who does not see a site (the API's site scope) gets what a site
 * nobody registered gets, at the same step of the checks — a bad parameter is still told first, so
 * the answer never tells another community's site from a missing one.
 */
export interface ReportScope {
  readonly siteVisible?: (site: string) => boolean;
}

export interface Reports {
  savings(params: SavingsParams, scope?: ReportScope): Promise<SavingsReport>;
  waste(params: WasteParams, scope?: ReportScope): Promise<WasteReport>;
  fireSafety(params: FireSafetyParams, scope?: ReportScope): Promise<FireSafetyReport>;
}

function parse<S extends z.ZodType>(schema: S, params: unknown): z.output<S> {
  const r = schema.safeParse(params);
  if (!r.success) throw new ReportError('invalid_params', r.error.issues.map((i) => `${i.path.join('.') || 'params'}: ${i.message}`).join('; '));
  return r.data;
}

/** What a report for a site nobody registered throws (404 `unknown_site`); the API answers the same for a site the caller does not see. */
export const unknownSite = (id: string): ReportError => new ReportError('unknown_site', `no site "${id}": it has no registry entry and no devices`);

export function createReports(config: ReportsConfig, deps: ReportsDeps): Reports {
  const cfg = reportsConfigSchema.parse(config);
  const now = deps.clock ?? Date.now;

  function resolveSite(id: string, scope: ReportScope | undefined): ReportSite {
    const devices = deps.devices.list().filter((d) => d.site === id);
    const known = deps.sites?.get(id);
    if ((!known && devices.length === 0) || scope?.siteVisible?.(id) === false) throw unknownSite(id);
    const timezone = known?.timezone ?? cfg.defaultTimezone;
    if (!isValidTimezone(timezone)) throw new ReportError('invalid_params', `site "${id}" has an unknown time zone "${timezone}"`);
    return { id, name: known?.name ?? id, timezone, ...(known?.gridRegion ? { gridRegion: known.gridRegion } : {}) };
  }

  function toMs(t: number | string, tz: string): number {
    return typeof t === 'number' ? t : localMidnight(t, tz);
  }

  function period(from: number | string, to: number | string, tz: string, label: string): ReportPeriod {
    const f = toMs(from, tz);
    const t = toMs(to, tz);
    if (!(t > f)) throw new ReportError('empty_range', `${label}: "to" must be after "from"`);
    const w = wholeDays(f, t, tz);
    if (w.days > cfg.maxRangeDays) throw new ReportError('range_too_long', `${label} spans ${w.days} days; at most ${cfg.maxRangeDays}`);
    return w;
  }

  return {
    async savings(params, scope) {
      const p = parse(savingsParamsSchema, params);
      const site = resolveSite(p.site, scope);
      const reporting = period(p.from, p.to, site.timezone, 'reporting period');
      const baseline = period(p.baselineFrom, p.baselineTo, site.timezone, 'baseline period');
      if (baseline.from < reporting.to && reporting.from < baseline.to) {
        throw new ReportError('baseline_overlap', `the baseline (${baseline.firstDate}…${baseline.lastDate}) overlaps the reporting period (${reporting.firstDate}…${reporting.lastDate})`);
      }
      const temperatures = new Map((p.temperatures ?? []).map((t) => [t.date, t.temperature] as const));
      // CalTRACK 2.0 §3.1.3: the model is fit to the 365 days immediately before the reporting side.
      const used = baseline.days > caltrackBaselineDays
        ? wholeDays(localMidnight(addDays(baseline.lastDate, 1 - caltrackBaselineDays), site.timezone), baseline.to, site.timezone)
        : baseline;
      return savingsReport(deps.store, cfg, {
        site, period: reporting, baseline: used, ...(used !== baseline ? { requestedBaseline: baseline } : {}),
        devices: deps.devices.list(), buildingNames: deps.buildings?.names(site.id),
        confidence: p.confidence ?? 90, model: p.model ?? 'auto', temperatures, now: now(),
      });
    },
    async waste(params, scope) {
      const p = parse(wasteParamsSchema, params);
      const site = resolveSite(p.site, scope);
      return wasteReport(deps.store, cfg, { site, period: period(p.from, p.to, site.timezone, 'reporting period'), devices: deps.devices.list(), now: now() });
    },
    async fireSafety(params, scope) {
      const p = parse(fireSafetyParamsSchema, params);
      const site = resolveSite(p.site, scope);
      return fireSafetyReport(deps.store, deps.alarms, cfg, {
        site, period: period(p.from, p.to, site.timezone, 'reporting period'), devices: deps.devices.list(), now: now(), ...(deps.incidents ? { incidents: deps.incidents } : {}),
      });
    },
  };
}
