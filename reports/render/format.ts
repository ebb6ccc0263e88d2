/**
 * Locale formatting for the HTML report: numbers grouped and rounded per language (Intl), dates
 * and months in the site's time zone. The JSON and CSV outputs never go through here: they carry
 * plain numbers and ISO times.
 */

export const reportLangs = ['zh-CN', 'en'] as const;
export type ReportLang = (typeof reportLangs)[number];
export const defaultLang: ReportLang = 'zh-CN';

export interface Formatter {
  readonly lang: ReportLang;
  /** A number with `digits` decimals at most (default: 0 at ≥100, 1 at ≥10, else 2). */
  num(v: number | null | undefined, digits?: number): string;
  /** A fraction as a percentage: 0.123 → "12.3%". */
  pct(v: number | null | undefined, digits?: number): string;
  /** Money in CNY. */
  money(v: number | null | undefined): string;
  date(ms: number): string;
  dateTime(ms: number): string;
  /** "2025年3月" / "Mar 2025". */
  month(ms: number): string;
  hours(v: number | null | undefined): string;
}

const dash = '–';

/** Intl formatters are costly to make (~1 ms each): one set per language and zone. */
const formatters = new Map<string, Formatter>();

export function formatter(lang: ReportLang, timeZone: string): Formatter {
  const key = `${lang}\u0000${timeZone}`;
  let f = formatters.get(key);
  if (!f) {
    if (formatters.size >= 64) formatters.clear();
    f = makeFormatter(lang, timeZone);
    formatters.set(key, f);
  }
  return f;
}

function makeFormatter(lang: ReportLang, timeZone: string): Formatter {
  const nf = new Map<number, Intl.NumberFormat>();
  const numFmt = (digits: number) => {
    let f = nf.get(digits);
    if (!f) {
      f = new Intl.NumberFormat(lang, { maximumFractionDigits: digits, minimumFractionDigits: 0 });
      nf.set(digits, f);
    }
    return f;
  };
  const pf = new Map<number, Intl.NumberFormat>();
  const pctFmt = (digits: number) => {
    let f = pf.get(digits);
    if (!f) {
      f = new Intl.NumberFormat(lang, { style: 'percent', maximumFractionDigits: digits, minimumFractionDigits: digits });
      pf.set(digits, f);
    }
    return f;
  };
  const money = new Intl.NumberFormat(lang, { style: 'currency', currency: 'CNY', maximumFractionDigits: 2 });
  const dateF = new Intl.DateTimeFormat(lang, { timeZone, year: 'numeric', month: '2-digit', day: '2-digit' });
  const dateTimeF = new Intl.DateTimeFormat(lang, { timeZone, year: 'numeric', month: '2-digit', day: '2-digit', hour: '2-digit', minute: '2-digit', hour12: false });
  const monthF = new Intl.DateTimeFormat(lang, { timeZone, year: 'numeric', month: 'short' });
  const ok = (v: number | null | undefined): v is number => typeof v === 'number' && Number.isFinite(v);
  const autoDigits = (v: number) => (Math.abs(v) >= 100 ? 0 : Math.abs(v) >= 10 ? 1 : 2);
  return {
    lang,
    num: (v, digits) => (ok(v) ? numFmt(digits ?? autoDigits(v)).format(v) : dash),
    pct: (v, digits = 1) => (ok(v) ? pctFmt(digits).format(v) : dash),
    money: (v) => (ok(v) ? money.format(v) : dash),
    date: (ms) => dateF.format(ms),
    dateTime: (ms) => dateTimeF.format(ms),
    month: (ms) => monthF.format(ms),
    hours: (v) => (ok(v) ? numFmt(1).format(v) : dash),
  };
}

/** ISO 8601 UTC, for JSON and CSV. */
export const iso = (ms: number | null | undefined): string | undefined => (typeof ms === 'number' && Number.isFinite(ms) ? new Date(ms).toISOString() : undefined);
