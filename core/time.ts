/**
 * Local calendar days in a site's IANA time zone. Day boundaries are local midnights, found with
 * Intl (no tz database of our own); store buckets are epoch-aligned UTC (InfluxQL GROUP BY time()),
 * so consumption queries buckets no wider than the zone's offset granularity and re-buckets here.
 */
const DAY = 86_400_000;
const formatters = new Map<string, Intl.DateTimeFormat>();

function formatter(tz: string): Intl.DateTimeFormat {
  let f = formatters.get(tz);
  if (!f) {
    f = new Intl.DateTimeFormat('en-US', { timeZone: tz, hourCycle: 'h23', year: 'numeric', month: '2-digit', day: '2-digit', hour: '2-digit', minute: '2-digit', second: '2-digit' });
    formatters.set(tz, f);
  }
  return f;
}

export function isValidTimezone(tz: string): boolean {
  try { formatter(tz); return true; } catch { return false; }
}

/** Offset of the zone at `ts`, in ms (local − UTC). */
export function tzOffsetMs(ts: number, tz: string): number {
  const p: Record<string, number> = {};
  for (const part of formatter(tz).formatToParts(new Date(ts))) if (part.type !== 'literal') p[part.type] = Number(part.value);
  const asUtc = Date.UTC(p.year as number, (p.month as number) - 1, p.day as number, p.hour as number, p.minute as number, p.second as number);
  return asUtc - Math.floor(ts / 1000) * 1000;
}

/** Local date (YYYY-MM-DD) of an instant. */
export function localDate(ts: number, tz: string): string {
  return new Date(ts + tzOffsetMs(ts, tz)).toISOString().slice(0, 10);
}

/** Local midnights already found: Intl is slow enough to show in a year's report (two calls a date). */
const midnights = new Map<string, number>();

/** The instant of local midnight starting `date`. */
export function localMidnight(date: string, tz: string): number {
  const key = `${tz}\u0000${date}`;
  const known = midnights.get(key);
  if (known !== undefined) return known;
  const naive = Date.parse(`${date}T00:00:00Z`);
  let ts = naive - tzOffsetMs(naive, tz);
  // Second pass settles zones whose offset differs on either side of the first guess (DST).
  ts = naive - tzOffsetMs(ts, tz);
  // Bounded: a long-running process asks for a few zones over a few years of dates.
  if (midnights.size >= 100_000) midnights.clear();
  midnights.set(key, ts);
  return ts;
}

export function addDays(date: string, n: number): string {
  return new Date(Date.parse(`${date}T00:00:00Z`) + n * DAY).toISOString().slice(0, 10);
}

/** 0 = Sunday … 6 = Saturday, of a calendar date. */
export function dayOfWeek(date: string): number {
  return new Date(`${date}T00:00:00Z`).getUTCDay();
}

export function isWeekend(date: string): boolean {
  const d = dayOfWeek(date);
  return d === 0 || d === 6;
}

/** Local dates whose day starts in [from, to): from's day included when from is its midnight. */
export function datesBetween(firstDate: string, lastDate: string): string[] {
  const out: string[] = [];
  for (let d = firstDate; d <= lastDate; d = addDays(d, 1)) out.push(d);
  return out;
}

/**
 * Widens [from, to) to whole local days: from the day containing `from` to the day containing
 * `to − 1 ms`.
 */
export function wholeDays(from: number, to: number, tz: string): { from: number; to: number; firstDate: string; lastDate: string; days: number } {
  const firstDate = localDate(from, tz);
  const lastDate = localDate(to - 1, tz);
  const dates = datesBetween(firstDate, lastDate);
  return { from: localMidnight(firstDate, tz), to: localMidnight(addDays(lastDate, 1), tz), firstDate, lastDate, days: dates.length };
}

/**
 * Largest bucket (≤ 1 h) whose epoch-aligned edges fall on the zone's local midnights in [from, to).
 * The offset is sampled every 30 days and at `to`: a zone changes its offset at most twice a year,
 * months apart, so no offset in force between two samples goes unseen.
 */
export function alignedBucketMs(from: number, to: number, tz: string): number {
  let bucket = 3_600_000;
  const check = (t: number) => {
    const off = tzOffsetMs(t, tz);
    while (bucket > 60_000 && off % bucket !== 0) bucket = bucket === 3_600_000 ? 900_000 : 60_000;
  };
  for (let t = from; t < to; t += 30 * DAY) check(t);
  check(to);
  return bucket;
}
