import type { AnyReport, ReportWarning } from '../contracts.js';
import { formatter, type Formatter, type ReportLang } from './format.js';
import { hasString, translator, type Translate } from './i18n.js';

/**
 * Report notes (warnings) in the report's language. A note is data — a code and its params — so a
 * stored report reads the same in any language: `note.<code>` (or `note.<code>.<variant>`) is the
 * template, and params are formatted by kind: instants (`ts`, `from`, `to`) as local date-times,
 * `…Pct` fractions as percentages, register readings as read, other numbers grouped and rounded, `line` as the line's name,
 * `meter` as given (the meter's registry name).
 */

const instants = new Set(['ts', 'from', 'to']);
/** Register readings: printed as read (up to 3 decimals), never rounded to look tidy. */
const readings = new Set(['previous', 'value', 'unallocated']);

export interface LineParts {
  readonly scope: string;
  readonly utility: string;
  readonly purpose?: string;
  readonly building?: string;
}

/** A savings line's name: utility and whole site, a purpose, or a building (by its registry name). */
export function lineName(l: LineParts, t: Translate, buildingName?: (id: string) => string | undefined): string {
  const u = t(`utility.${l.utility}`);
  if (l.scope === 'purpose' && l.purpose) return `${u} · ${t(`purpose.${l.purpose}`)}`;
  if (l.scope === 'building' && l.building) return `${u} · ${buildingName?.(l.building) ?? `${t('col.building')} ${l.building}`}`;
  return `${u} · ${t('scope.site')}`;
}

/** A line key as the savings report makes them: `site:water`, `purpose:electricity:common_lighting`, `building:water:b3`. */
function keyParts(key: string): LineParts {
  const [scope = 'site', utility = '', what] = key.split(':');
  return { scope, utility, ...(scope === 'purpose' ? { purpose: what } : scope === 'building' ? { building: what } : {}) };
}

export function buildingNames(r: AnyReport): (id: string) => string | undefined {
  const names = new Map<string, string>();
  if (r.type === 'savings') for (const l of r.lines) if (l.building && l.buildingName) names.set(l.building, l.buildingName);
  return (id) => names.get(id);
}

export function noteText(w: ReportWarning, r: AnyReport, t: Translate, f: Formatter): string {
  // A note stored before notes carried params has only its (English) text.
  if (w.params === undefined && w.line === undefined) return w.message;
  const vars: Record<string, string | number> = {};
  for (const [k, v] of Object.entries(w.params ?? {})) {
    if (typeof v === 'string') vars[k] = v;
    else if (instants.has(k)) vars[k] = f.dateTime(v);
    else if (k.endsWith('Pct')) vars[k] = f.pct(v, 1);
    else if (readings.has(k)) vars[k] = f.num(v, 3);
    else vars[k] = f.num(v);
  }
  if (w.line) {
    const line = r.type === 'savings' ? r.lines.find((l) => l.key === w.line) : undefined;
    vars.line = lineName(line ?? keyParts(w.line), t, buildingNames(r));
  }
  const variant = typeof w.params?.variant === 'string' ? `note.${w.code}.${w.params.variant}` : undefined;
  const key = variant && hasString(variant) ? variant : `note.${w.code}`;
  return hasString(key) ? t(key, vars) : w.message;
}

/** The English message stored with a note (what JSON and CSV carried before notes had params). */
export function englishNote(w: Omit<ReportWarning, 'message'>, r: AnyReport): string {
  return noteText({ ...w, message: '' }, r, translator('en'), formatter('en', r.site.timezone));
}

/** Every note of a report in a language. */
export function notesIn(r: AnyReport, lang: ReportLang): ReportWarning[] {
  const t = translator(lang);
  const f = formatter(lang, r.site.timezone);
  return r.warnings.map((w) => ({ ...w, message: noteText(w, r, t, f) }));
}
