import type { BinCategory, Device } from '../core/index.js';
import { binCategories } from '../core/index.js';
import type { TelemetryStore } from '../storage/contract.js';
import type { ReportPeriod, ReportSite, ResolvedReportsConfig, WasteCategoryStats, WasteReport, WasteTrend } from './contracts.js';
import { wholeDays } from './time.js';

/**
 * Waste from smart-bin readings:
 * - a collection is a drop of the fill level by at least `collectionDropPct` points between two
 *   consecutive readings (the bin was emptied); the fill just before is the fill at collection
 *   (collection efficiency: emptying full bins, not half-empty ones);
 * - an overflow incident starts when the fill reaches `overflowPct` (default 90 %) from below; the
 *   hours overflowing are the time between readings while the earlier one is at/over it (an
 *   interval is counted at most 2 h: beyond that the bin was silent, not known to be full), clipped
 *   to the period at both ends;
 * - share by sorting category (GB/T 19095-2019) by weight collected where every bin of the site
 *   that reported in the period reports weight (whether or not it was emptied), else by fill
 *   points emptied (a volume proxy).
 * The trend compares with the previous period of equal length.
 */
interface BinRead { ts: number; fill: number | null; weight: number | null }
const MAX_OVERFLOW_INTERVAL = 2 * 3_600_000;

function binStats(reads: readonly BinRead[], from: number, to: number, cfg: ResolvedReportsConfig) {
  let collections = 0;
  let fillAtCollection = 0;
  let overflowIncidents = 0;
  let overflowMs = 0;
  let weightKg = 0;
  let hasWeight = false;
  let volumePct = 0;
  let prev: BinRead | undefined;
  for (const cur of reads) {
    if (cur.weight !== null && cur.ts >= from && cur.ts < to) hasWeight = true;
    if (cur.fill === null) continue;
    if (prev && prev.fill !== null && prev.ts < to && cur.ts >= to) {
      // The interval across the period's end: its in-period part can still be overflowing.
      if (prev.fill >= cfg.overflowPct) overflowMs += Math.max(0, Math.min(to, prev.ts + MAX_OVERFLOW_INTERVAL) - Math.max(prev.ts, from));
      break;
    }
    const inPeriod = cur.ts >= from && cur.ts < to;
    if (prev && prev.fill !== null && inPeriod) {
      if (prev.fill - cur.fill >= cfg.collectionDropPct) {
        collections += 1;
        fillAtCollection += prev.fill;
        volumePct += prev.fill - cur.fill;
        if (prev.weight !== null && cur.weight !== null) weightKg += Math.max(0, prev.weight - cur.weight);
      }
      if (prev.fill >= cfg.overflowPct) overflowMs += Math.max(0, Math.min(cur.ts, prev.ts + MAX_OVERFLOW_INTERVAL) - Math.max(prev.ts, from));
      if (prev.fill < cfg.overflowPct && cur.fill >= cfg.overflowPct) overflowIncidents += 1;
    } else if (!prev && inPeriod && cur.fill >= cfg.overflowPct) {
      overflowIncidents += 1;
    }
    prev = cur;
  }
  const reported = reads.some((x) => x.ts >= from && x.ts < to);
  return { collections, fillAtCollection, overflowIncidents, overflowHours: overflowMs / 3_600_000, weightKg: hasWeight ? weightKg : null, volumePct,
    reported };
}

async function periodStats(store: TelemetryStore, cfg: ResolvedReportsConfig, site: string, bins: readonly Device[], p: { from: number; to: number }) {
  // A reading before `from` gives the first interval its start state.
  // One after `to` closes the last interval (its in-period part can still be overflowing).
  const points = await store.series({ kind: 'smart_bin', site, from: p.from - 6 * 3_600_000, to: p.to + MAX_OVERFLOW_INTERVAL, fields: ['fill', 'weight'] });
  const byDevice = new Map<string, BinRead[]>();
  for (const pt of points) {
    const list = byDevice.get(pt.device) ?? [];
    list.push({ ts: pt.ts, fill: typeof pt.values.fill === 'number' ? pt.values.fill : null, weight: typeof pt.values.weight === 'number' ? pt.values.weight : null });
    byDevice.set(pt.device, list);
  }
  const perBin = bins.map((b) => ({ bin: b, ...binStats((byDevice.get(b.id) ?? []).sort((x, y) => x.ts - y.ts), p.from, p.to, cfg) }));
  // By weight when every bin that reported in the period reports weight (a silent bin decides nothing).
  const reporting = perBin.filter((b) => b.reported);
  const byWeight = reporting.length > 0 && reporting.every((b) => b.weightKg !== null);
  const cats: WasteCategoryStats[] = binCategories.map((category: BinCategory) => {
    const bs = perBin.filter((b) => b.bin.category === category);
    const collections = bs.reduce((s, b) => s + b.collections, 0);
    const weights = bs.filter((b) => b.weightKg !== null);
    return {
      category, bins: bs.length, collections,
      avgFillAtCollection: collections > 0 ? round(bs.reduce((s, b) => s + b.fillAtCollection, 0) / collections) : null,
      overflowIncidents: bs.reduce((s, b) => s + b.overflowIncidents, 0),
      overflowHours: round(bs.reduce((s, b) => s + b.overflowHours, 0)),
      weightKg: weights.length > 0 ? round(weights.reduce((s, b) => s + (b.weightKg as number), 0)) : null,
      volumePct: round(bs.reduce((s, b) => s + b.volumePct, 0)),
      share: 0,
    };
  });
  const basisOf = (c: WasteCategoryStats) => (byWeight ? c.weightKg ?? 0 : c.volumePct);
  const total = cats.reduce((s, c) => s + basisOf(c), 0);
  return { perBin, byWeight, cats: cats.map((c) => ({ ...c, share: total > 0 ? basisOf(c) / total : 0 })) };
}

const round = (x: number): number => Math.round(x * 100) / 100;
const trend = (current: number, previous: number): WasteTrend => ({ current, previous, change: previous !== 0 ? (current - previous) / previous : null });

export async function wasteReport(store: TelemetryStore, cfg: ResolvedReportsConfig,
  input: { site: ReportSite; period: ReportPeriod; devices: readonly Device[]; now: number }): Promise<WasteReport> {
  const { site, period } = input;
  const bins = input.devices.filter((d) => d.site === site.id && d.kind === 'smart_bin');
  const length = period.to - period.from;
  const previousPeriod = wholeDays(period.from - length, period.from, site.timezone);
  const cur = await periodStats(store, cfg, site.id, bins, period);
  const prev = await periodStats(store, cfg, site.id, bins, previousPeriod);
  const sum = (cats: readonly WasteCategoryStats[], f: (c: WasteCategoryStats) => number) => round(cats.reduce((s, c) => s + f(c), 0));
  const avgFill = (cats: readonly WasteCategoryStats[]) => {
    const n = sum(cats, (c) => c.collections);
    return n > 0 ? round(cats.reduce((s, c) => s + (c.avgFillAtCollection ?? 0) * c.collections, 0) / n) : 0;
  };
  const weights = cur.cats.filter((c) => c.weightKg !== null);
  return {
    type: 'waste', generatedAt: input.now, site, period, previousPeriod, warnings: [],
    shareBasis: cur.byWeight ? 'weight' : 'volume',
    thresholds: { overflowPct: cfg.overflowPct, collectionDropPct: cfg.collectionDropPct },
    categories: cur.cats, previousCategories: prev.cats,
    totals: {
      collections: sum(cur.cats, (c) => c.collections), overflowIncidents: sum(cur.cats, (c) => c.overflowIncidents),
      overflowHours: sum(cur.cats, (c) => c.overflowHours), weightKg: weights.length > 0 ? sum(weights, (c) => c.weightKg as number) : null,
    },
    trend: {
      collections: trend(sum(cur.cats, (c) => c.collections), sum(prev.cats, (c) => c.collections)),
      overflowIncidents: trend(sum(cur.cats, (c) => c.overflowIncidents), sum(prev.cats, (c) => c.overflowIncidents)),
      overflowHours: trend(sum(cur.cats, (c) => c.overflowHours), sum(prev.cats, (c) => c.overflowHours)),
      avgFillAtCollection: trend(avgFill(cur.cats), avgFill(prev.cats)),
    },
    bins: cur.perBin.map((b) => ({ device: b.bin.id, category: b.bin.category as BinCategory, building: b.bin.building, collections: b.collections,
      overflowIncidents: b.overflowIncidents, overflowHours: round(b.overflowHours) })),
  };
}
