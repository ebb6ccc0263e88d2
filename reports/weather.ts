import type { Device } from '../core/index.js';
import type { SeriesPoint, TelemetryStore } from '../storage/contract.js';
import { dayBoundaries } from '../storage/rollups/summarize.js';
import { addDays, alignedBucketMs, datesBetween, localMidnight } from './time.js';

/**
 * Daily mean outdoor temperature (°C) per local day from a site's `weather_station` devices.
 *
 * CalTRACK (daily methods) takes the day's temperature as the mean of its hourly temperatures and
 * treats a day with fewer than half of its hourly values as missing (CalTRACK 2.2, data
 * sufficiency). Here: the store's bucket means (buckets ≤ 1 h, aligned to the zone's local
 * midnights, see alignedBucketMs) of every station of the site are averaged per bucket, and a day
 * is kept when at least half of its buckets have a value; its temperature is the mean of those
 * bucket means (so several stations, or a station reporting more often, do not weigh more).
 */
export async function dailyOutdoorTemperature(
  store: TelemetryStore,
  q: { site: string; timezone: string; firstDate: string; lastDate: string; devices: readonly Device[] },
): Promise<Map<string, number>> {
  const out = new Map<string, number>();
  const stations = new Set(q.devices.filter((d) => d.site === q.site && d.kind === 'weather_station').map((d) => d.id));
  if (stations.size === 0) return out;
  const from = localMidnight(q.firstDate, q.timezone);
  const to = localMidnight(addDays(q.lastDate, 1), q.timezone);
  const bucket = alignedBucketMs(from, to, q.timezone);
  // At most a year (366 days) of hourly buckets per query: under influxd's 10,000-row answers for one station.
  const points: SeriesPoint[] = [];
  for (let start = from; start < to; start += 366 * 86_400_000) {
    for (const p of await store.series({ kind: 'weather_station', site: q.site, from: start, to: Math.min(to, start + 366 * 86_400_000), every: bucket, agg: 'mean', fields: ['temperature'] })) points.push(p);
  }
  // Mean over stations per bucket.
  const buckets = new Map<number, { sum: number; n: number }>();
  for (const p of points) {
    const v = p.values.temperature;
    if (!stations.has(p.device) || typeof v !== 'number' || !Number.isFinite(v)) continue;
    const b = buckets.get(p.ts) ?? { sum: 0, n: 0 };
    b.sum += v;
    b.n += 1;
    buckets.set(p.ts, b);
  }
  const days = new Map<string, { sum: number; n: number }>();
  const bounds = dayBoundaries(q.timezone);
  for (const [ts, b] of [...buckets].sort((x, y) => x[0] - y[0])) {
    const date = bounds.dateOf(ts).date;
    const d = days.get(date) ?? { sum: 0, n: 0 };
    d.sum += b.sum / b.n;
    d.n += 1;
    days.set(date, d);
  }
  for (const date of datesBetween(q.firstDate, q.lastDate)) {
    const d = days.get(date);
    if (!d) continue;
    const length = localMidnight(addDays(date, 1), q.timezone) - localMidnight(date, q.timezone);
    if (d.n * 2 >= Math.round(length / bucket)) out.set(date, Math.round((d.sum / d.n) * 1e6) / 1e6);
  }
  return out;
}
