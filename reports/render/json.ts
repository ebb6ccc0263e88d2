import type { AnyReport } from '../contracts.js';
import type { ReportLang } from './format.js';
import { notesIn } from './notes.js';

/**
 * The JSON rendering: the data model as it is, with its instants as ISO 8601 UTC strings instead
 * of epoch ms, so the file reads well and any tool parses it. The instants are the fields named
 * `generatedAt`, `ts`, `from` and `to` (report, baseline and previous periods, register resets,
 * data gaps, battery readings); local calendar dates (`date`, `firstDate`, `month`) stay as they are.
 */

const instantKeys = new Set(['generatedAt', 'ts', 'from', 'to']);

function isoize(value: unknown, key?: string): unknown {
  if (typeof value === 'number' && key !== undefined && instantKeys.has(key) && Number.isFinite(value)) return new Date(value).toISOString();
  if (Array.isArray(value)) return value.map((v) => isoize(v));
  if (value && typeof value === 'object') {
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(value)) out[k] = isoize(v, k);
    return out;
  }
  return value;
}

/**
 * The report with ISO times, as a plain object (for a JSON response body or a file); with a
 * language, its notes' `message` in that language (render/notes.ts) and a `lang` field.
 */
export function reportToJson(report: AnyReport, opts: { lang?: ReportLang } = {}): unknown {
  if (!opts.lang) return isoize(report);
  return isoize({ ...report, lang: opts.lang, warnings: notesIn(report, opts.lang) });
}

export function renderJson(report: AnyReport, opts: { lang?: ReportLang } = {}): string {
  return `${JSON.stringify(reportToJson(report, opts), null, 2)}\n`;
}
