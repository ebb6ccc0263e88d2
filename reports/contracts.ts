import { z } from 'zod';
import { CodedError, type ErrorCategory } from '../core/errors.js';
import type { BinCategory, GridRegion, KindName, MeterPurpose } from '../core/index.js';
import type { Severity } from '../storage/alarms/contract.js';

/**
 * The report data model: what `createReports` produces and what the renderers (reports/render/)
 * and the API routes consume. Plain JSON-compatible data (numbers, strings, arrays, records), so a
 * stored report is its own JSON rendering. Times are epoch ms; `date` fields are local calendar
 * dates (YYYY-MM-DD) in the site's time zone. Quantities carry their unit in a sibling `unit`.
 *
 * Stability: fields are only ever added (optional), never renamed or removed.
 */

// ───────────────────────────── params ─────────────────────────────

/**
 * A time given to a report: epoch ms, an ISO 8601 instant with a zone, or a local date
 * `YYYY-MM-DD` (local midnight in the site's time zone, resolved by createReports).
 */
export const timeInputSchema = z.union([
  z.number().int().nonnegative(),
  z.string().regex(/^\d+$/).transform(Number),
  z.iso.date(),
  z.iso.datetime({ offset: true }).transform((s) => Date.parse(s)),
]);
export type TimeInput = z.input<typeof timeInputSchema>;

export const periodParamsSchema = z.object({
  site: z.string().min(1).max(64),
  /** Half-open [from, to); widened to whole local days. */
  from: timeInputSchema,
  to: timeInputSchema,
});
export type PeriodParams = z.input<typeof periodParamsSchema>;

export const confidenceLevels = [68, 80, 90, 95] as const;
export type ConfidenceLevel = (typeof confidenceLevels)[number];

export const baselineModelChoices = ['auto', 'day_type', 'degree_day'] as const;
export type BaselineModelChoice = (typeof baselineModelChoices)[number];

/** One outdoor temperature per local day (°C), e.g. from a CSV upload. */
export interface DailyTemperature {
  readonly date: string;
  readonly temperature: number;
}

export const savingsParamsSchema = periodParamsSchema.extend({
  baselineFrom: timeInputSchema,
  baselineTo: timeInputSchema,
  /** Confidence of the stated savings uncertainty (ASHRAE G14 uses 68 % or 90 %); default 90. */
  confidence: z.coerce.number().pipe(z.union(confidenceLevels.map((c) => z.literal(c)) as unknown as [z.ZodLiteral<68>, z.ZodLiteral<80>, z.ZodLiteral<90>,
    z.ZodLiteral<95>])).optional(),
  /** `auto`: degree-day when daily outdoor temperature covers the baseline, else day type. */
  model: z.enum(baselineModelChoices).optional(),
  /** Daily outdoor temperatures (°C) overriding/adding to a weather station's. */
  temperatures: z.array(z.object({ date: z.iso.date(), temperature: z.number().min(-60).max(60) })).max(5000).optional(),
});
export type SavingsParams = z.input<typeof savingsParamsSchema>;

export const wasteParamsSchema = periodParamsSchema;
export type WasteParams = z.input<typeof wasteParamsSchema>;
export const fireSafetyParamsSchema = periodParamsSchema;
export type FireSafetyParams = z.input<typeof fireSafetyParamsSchema>;

// ───────────────────────────── config ─────────────────────────────

export const reportsConfigSchema = z.object({
  /** Used when a site has no registry entry for its zone. */
  defaultTimezone: z.string().default('Asia/Shanghai'),
  currency: z.string().default('CNY'),
  /** Tariffs per utility, currency per unit (¥/kWh, ¥/m³). */
  tariffs: z.object({ electricity: z.number().nonnegative().default(0.617), water: z.number().nonnegative().default(5.0) }).prefault({}),
  /**
   * Key into the emission-factor table (core/emission-factors.ts) used for sites without a grid
   * region; a site's own `gridRegion` selects its regional factor instead.
   */
  gridFactor: z.string().default('national-2023'),
  /** Extra/overriding grid factors by key. */
  customGridFactors: z.record(z.string(), z.object({ kgCO2PerKWh: z.number().positive(), year: z.number().int(), source: z.string() })).optional(),
  /** Electricity to supply and treat one m³ of tap water, kWh/m³. */
  waterKWhPerM3: z.number().nonnegative().default(0.6),
  maxRangeDays: z.number().int().positive().default(366 * 3),
  /** Fire safety: an alarm cleared within this many minutes, never acknowledged, is a nuisance alarm. */
  nuisanceMinutes: z.number().positive().default(5),
  batteryLowPct: z.number().min(0).max(100).default(20),
  /** Waste: fill ≥ this is an overflow. */
  overflowPct: z.number().min(0).max(100).default(90),
  /** Waste: a fill drop of at least this many points between readings is an emptying. */
  collectionDropPct: z.number().positive().max(100).default(30),
  /** Consumption: consecutive register reads further apart than this are a gap (not split over days). */
  maxInterpolationGapMs: z.number().int().positive().default(3 * 3_600_000),
});
export type ReportsConfig = z.input<typeof reportsConfigSchema>;
export type ResolvedReportsConfig = z.output<typeof reportsConfigSchema>;

// ───────────────────────────── errors ─────────────────────────────

export const reportErrorCodes = ['invalid_params', 'empty_range', 'baseline_overlap', 'unknown_site', 'range_too_long', 'no_data'] as const;
export type ReportErrorCode = (typeof reportErrorCodes)[number];

const reportErrorCategory: Record<ReportErrorCode, ErrorCategory> = {
  invalid_params: 'invalid', empty_range: 'invalid', baseline_overlap: 'invalid', range_too_long: 'invalid',
  unknown_site: 'not_found',
  // The request is well-formed, but the data cannot support a report.
  no_data: 'unprocessable',
};

/** A report that cannot be made as asked: a bad request (invalid), an unknown site (not_found), or no data (unprocessable). */
export class ReportError extends CodedError {
  override name = 'ReportError';
  constructor(override readonly code: ReportErrorCode, message: string) {
    super(code, reportErrorCategory[code], message);
  }
}

// ───────────────────────────── shared pieces ─────────────────────────────

export interface ReportSite {
  readonly id: string;
  readonly name: string;
  readonly timezone: string;
  /** The regional grid the site draws from, when the registry says (selects the CO₂ factor). */
  readonly gridRegion?: GridRegion;
}

export interface ReportPeriod {
  /** Local midnight that starts the first day, epoch ms. */
  readonly from: number;
  /** Local midnight after the last day (exclusive), epoch ms. */
  readonly to: number;
  readonly firstDate: string;
  readonly lastDate: string;
  readonly days: number;
}

export interface ReportHeader {
  readonly id?: string;
  readonly generatedAt: number;
  readonly site: ReportSite;
  readonly period: ReportPeriod;
  readonly warnings: readonly ReportWarning[];
}

export const reportWarningCodes = [
  'register_reset', 'data_gap', 'low_completeness', 'fit_fails_g14', 'no_baseline_data', 'no_weather', 'savings_not_significant', 'other',
  'insufficient_baseline', 'baseline_truncated', 'temperature_out_of_range', 'exceeds_site', 'no_model',
] as const;

export interface ReportWarning {
  readonly code: (typeof reportWarningCodes)[number];
  /** English text as generated; renderers print `code` and `params` in the report's language. */
  readonly message: string;
  readonly device?: string;
  /** The savings line the note is about (SavingsLine.key). */
  readonly line?: string;
  /** What the text says, as data (numbers, dates, names), for rendering in any language. */
  readonly params?: Readonly<Record<string, string | number>>;
}

// ───────────────────────────── consumption ─────────────────────────────

export type Utility = 'electricity' | 'water';

export interface DailyValue {
  readonly date: string;
  /** null: the day is not fully covered by register reads (no value is invented). */
  readonly value: number | null;
}

export interface RegisterReset {
  readonly ts: number;
  readonly previous: number;
  readonly value: number;
}

export interface DataGap {
  /** Time of the last read before and the first read after the gap. */
  readonly from: number;
  readonly to: number;
  /** Register advance across the gap: reported, not allocated to days. */
  readonly unallocated: number;
}

export interface MeterConsumption {
  readonly device: string;
  /** The meter's registry name (what reports print). */
  readonly name?: string;
  readonly kind: KindName;
  readonly building: string;
  readonly purpose: MeterPurpose;
  readonly utility: Utility;
  readonly field: 'energy' | 'volume';
  readonly unit: 'kWh' | 'm³';
  readonly days: readonly DailyValue[];
  /** Sum of the complete days. */
  readonly total: number;
  readonly daysWithData: number;
  readonly daysInPeriod: number;
  /** daysWithData / daysInPeriod, 0..1. */
  readonly completeness: number;
  readonly resets: readonly RegisterReset[];
  readonly gaps: readonly DataGap[];
}

// ───────────────────────────── baseline models and fit ─────────────────────────────

export type BaselineModel =
  | { readonly type: 'day_type'; readonly weekday: number; readonly weekend: number; readonly nWeekday: number; readonly nWeekend: number }
  | {
    readonly type: 'intercept_only' | 'hdd' | 'cdd' | 'hdd_cdd';
    readonly intercept: number;
    readonly betaHdd?: number;
    readonly betaCdd?: number;
    /** °C */
    readonly hddBalance?: number;
    readonly cddBalance?: number;
    readonly adjR2: number;
  };

export interface FitMetrics {
  /** Baseline days used. */
  readonly n: number;
  /** Model parameters (incl. intercept). */
  readonly p: number;
  readonly meanY: number;
  readonly r2: number;
  readonly adjR2: number;
  /** Root mean square error with n − p denominator, in the line's unit per day. */
  readonly rmse: number;
  /** Fraction (0.1 = 10 %). ASHRAE G14-2014 eq. 4-? CV(RMSE) = sqrt(Σ(y−ŷ)²/(n−p)) / ȳ. */
  readonly cvrmse: number;
  /** Fraction. NMBE = Σ(y−ŷ) / ((n−p) ȳ). */
  readonly nmbe: number;
  /** Lag-1 autocorrelation of residuals (for effective n'). */
  readonly rho: number;
}

export interface FitLimits {
  /**
   * Which G14 criteria were applied: `whole_building` (the whole-building approach's CV(RMSE)
   * limit for the reporting length and its 0.005 % net determination bias) since CalTRACK rules
   * came in; `hourly`/`monthly` (calibration criteria) in reports made before.
   */
  readonly basis: 'hourly' | 'monthly' | 'whole_building';
  /** Fractions. */
  readonly cvrmseMax: number;
  readonly nmbeMax: number;
  readonly source: string;
  readonly note: string;
}

export interface FitJudgement {
  readonly cvrmse: boolean;
  readonly nmbe: boolean;
  readonly pass: boolean;
}

/**
 * CalTRACK 2.0 §2.2.1 baseline data sufficiency: 365 days (§2.2.1.1, §3.1.3) of which at least
 * 90 % have usable consumption (and temperature, for a degree-day model) (§2.2.1.2).
 */
export interface BaselineSufficiency {
  readonly status: 'sufficient' | 'insufficient';
  /** Calendar days of the baseline period used. */
  readonly days: number;
  readonly requiredDays: number;
  /** Usable days / days (per line; the whole report: the worst site line). */
  readonly coverage: number;
  readonly minCoverage: number;
  readonly reasons: readonly ('too_short' | 'low_coverage')[];
}

/** ASHRAE Guideline 14-2014 whole-building criteria as applied to a line. */
export interface G14Assessment {
  /** `withheld`: not assessed, the baseline cannot support it (see the line's claim). */
  readonly status: 'met' | 'not_met' | 'withheld';
  /** Fractional savings uncertainty at 68 % confidence (null without a saving). */
  readonly fsu68: number | null;
  readonly fsuMax: number;
  readonly cvrmse: number;
  /** The CV(RMSE) limit for the reporting length (20 % < 12 months, 25 % 12–60, 30 % beyond). */
  readonly cvrmseMax: number;
  readonly reportingMonths: number;
}

/** What a line may claim. */
export interface SavingsClaim {
  /** `significant`: meets the G14 whole-building criteria; `withheld`: the data cannot support any claim. */
  readonly status: 'significant' | 'not_significant' | 'withheld';
  readonly reasons: readonly ('insufficient_baseline' | 'temperature_out_of_range' | 'no_reporting_data' | 'fsu_too_high' | 'cvrmse_too_high' | 'exceeds_site')[];
}

/** Reporting days whose outdoor temperature lies outside the baseline's: never projected (no extrapolation). */
export interface TemperatureRange {
  readonly baselineMin: number;
  readonly baselineMax: number;
  /** Reporting days with data and a temperature. */
  readonly days: number;
  /** Of those, outside [baselineMin, baselineMax]: left out of the comparison. */
  readonly outside: number;
}

export interface SavingsUncertainty {
  readonly confidence: ConfidenceLevel;
  readonly t: number;
  /** ± in the line's unit over the compared days. */
  readonly absolute: number;
  /** absolute / avoided (ASHRAE G14 fractional savings uncertainty); null when avoided is 0. */
  readonly fractional: number | null;
  /** absolute / projected: ± on the savings fraction. */
  readonly onFraction: number;
  readonly nEffective: number;
  readonly m: number;
  readonly method: string;
}

export interface MonthlyComparison {
  /** YYYY-MM */
  readonly month: string;
  readonly projected: number;
  readonly actual: number;
  readonly avoided: number;
  readonly days: number;
}

export interface DailyComparison {
  readonly date: string;
  /** null: the model cannot speak for the day (no temperature, or one outside the baseline's range). */
  readonly projected: number | null;
  readonly actual: number | null;
}

export interface CostAndCarbon {
  readonly currency: string;
  readonly tariff: number;
  readonly costAvoided: number;
  readonly co2AvoidedKg: number;
  /** kgCO₂ per unit of the line (kWh or m³). */
  readonly co2Factor: number;
}

export interface EmissionFactorInfo {
  readonly key: string;
  readonly kgCO2PerKWh: number;
  readonly year: number;
  /** Where the factor is published (English; renderers print the publication in the report's language for the built-in table). */
  readonly source: string;
  /** `national` or the regional grid (core/emission-factors.ts); absent for a custom factor. */
  readonly scope?: string;
  /** Water: kWh per m³ of supply used to convert water to CO₂. */
  readonly waterKWhPerM3: number;
}

export type SavingsScope = 'site' | 'purpose' | 'building';

export interface SavingsLine {
  readonly key: string;
  readonly scope: SavingsScope;
  readonly utility: Utility;
  readonly unit: 'kWh' | 'm³';
  readonly purpose?: MeterPurpose;
  readonly building?: string;
  readonly meters: readonly string[];
  readonly model: BaselineModel;
  readonly fit: FitMetrics;
  readonly limits: FitLimits;
  readonly judgement: FitJudgement;
  /** Baseline / reporting days where every meter of the line was complete. */
  readonly completeness: { readonly baseline: number; readonly reporting: number };
  /** Over the complete reporting days. */
  readonly projected: number;
  readonly actual: number;
  readonly avoided: number;
  /** avoided / projected, fraction. */
  readonly avoidedFraction: number;
  readonly uncertainty: SavingsUncertainty;
  /** claim.status === 'significant' (G14 whole-building criteria met on a sufficient baseline). */
  readonly significant: boolean;
  readonly claim?: SavingsClaim;
  readonly g14?: G14Assessment;
  readonly sufficiency?: BaselineSufficiency;
  /** Degree-day lines: the baseline's temperature range and reporting days outside it. */
  readonly temperatureRange?: TemperatureRange;
  /** A building's registry name (building lines). */
  readonly buildingName?: string;
  readonly cost: CostAndCarbon;
  readonly monthly: readonly MonthlyComparison[];
  readonly daily: readonly DailyComparison[];
}

export interface SavingsReport extends ReportHeader {
  readonly type: 'savings';
  /** The baseline period used (the last 365 days of a longer one asked for, CalTRACK §3.1.3). */
  readonly baseline: ReportPeriod;
  /** The baseline period asked for, when a longer one was cut to 365 days. */
  readonly requestedBaseline?: ReportPeriod;
  /** The report's headline status: insufficient when any site line's baseline is. */
  readonly sufficiency?: BaselineSufficiency;
  readonly method: { readonly ipmvp: 'Option C'; readonly model: BaselineModelChoice; readonly description: string };
  readonly emissionFactor: EmissionFactorInfo;
  readonly tariffs: { readonly currency: string; readonly electricity: number; readonly water: number };
  readonly lines: readonly SavingsLine[];
  readonly meters: readonly Omit<MeterConsumption, 'days'>[];
  /** Cost and CO₂ of the site lines whose saving is significant; the others are not counted. */
  readonly totals: { readonly currency: string; readonly costAvoided: number; readonly co2AvoidedKg: number; readonly basis?: 'significant_site_lines' };
}

// ───────────────────────────── waste ─────────────────────────────

export interface WasteCategoryStats {
  readonly category: BinCategory;
  readonly bins: number;
  readonly collections: number;
  /** Mean fill (%) just before each detected emptying; null without collections. */
  readonly avgFillAtCollection: number | null;
  readonly overflowIncidents: number;
  readonly overflowHours: number;
  /** kg collected (sum of weight drops), null where no bin reports weight. */
  readonly weightKg: number | null;
  /** Sum of fill points emptied (volume proxy, % of a bin). */
  readonly volumePct: number;
  /** Share of the site's waste, 0..1, on the report's `shareBasis`. */
  readonly share: number;
}

export interface WasteTrend {
  readonly current: number;
  readonly previous: number;
  /** (current − previous) / previous, null when previous is 0. */
  readonly change: number | null;
}

export interface WasteReport extends ReportHeader {
  readonly type: 'waste';
  readonly previousPeriod: ReportPeriod;
  readonly shareBasis: 'weight' | 'volume';
  readonly thresholds: { readonly overflowPct: number; readonly collectionDropPct: number };
  readonly categories: readonly WasteCategoryStats[];
  readonly previousCategories: readonly WasteCategoryStats[];
  readonly totals: { readonly collections: number; readonly overflowIncidents: number; readonly overflowHours: number; readonly weightKg: number | null };
  readonly trend: { readonly collections: WasteTrend; readonly overflowIncidents: WasteTrend; readonly overflowHours: WasteTrend;
    readonly avgFillAtCollection: WasteTrend };
  readonly bins: readonly { readonly device: string; readonly category: BinCategory; readonly building: string; readonly collections: number;
    readonly overflowIncidents: number; readonly overflowHours: number }[];
}

// ───────────────────────────── fire safety ─────────────────────────────

export interface DetectorBattery {
  readonly device: string;
  readonly building: string;
  readonly location?: string;
  readonly battery: number;
  readonly ts: number;
}

export interface FireSafetyReport extends ReportHeader {
  readonly type: 'fire_safety';
  readonly alarms: {
    readonly total: number;
    readonly byType: Readonly<Record<string, number>>;
    readonly bySeverity: Readonly<Record<Severity, number>>;
    readonly byTypeAndSeverity: readonly { readonly type: string; readonly severity: Severity; readonly count: number }[];
  };
  readonly response: {
    /** Minutes; null when none was acknowledged/cleared. */
    readonly meanTimeToAckMin: number | null;
    readonly meanTimeToClearMin: number | null;
    readonly acknowledged: number;
    readonly cleared: number;
  };
  readonly nuisance: { readonly count: number; readonly thresholdMinutes: number; readonly definition: string };
  readonly tests: { readonly count: number; readonly devices: number };
  readonly offline: { readonly hours: number; readonly incidents: number; readonly byDevice: readonly { readonly device: string; readonly hours: number }[] };
  readonly batteryLow: { readonly thresholdPct: number; readonly detectors: readonly DetectorBattery[] };
  /**
   * Incidents opened in the period (alarms correlated per building and hazard, alerts/incidents):
   * what the control room actually worked. Absent when the report has no incident store.
   */
  readonly incidents?: {
    /** Fire incidents: all, those confirmed by two independent signals (火警), and pre-alarms never confirmed (预警). */
    readonly fire: number;
    readonly confirmedFires: number;
    readonly preAlarmsOnly: number;
    readonly electrical: number;
    /** Minutes from the incident's start to its acknowledgement, over those acknowledged; null when none was. */
    readonly meanTimeToAckMin: number | null;
  };
}

export type AnyReport = SavingsReport | WasteReport | FireSafetyReport;
export type ReportType = AnyReport['type'];
