import type { AnyReport } from '../contracts.js';
import { renderCsv } from './csv-report.js';
import { defaultLang, type ReportLang } from './format.js';
import { renderHtml } from './html.js';
import { renderJson } from './json.js';

export { renderCsv, reportTables } from './csv-report.js';
export { csvDocument, csvField, csvRow, type CsvTable } from './csv.js';
export { defaultLang, formatter, reportLangs, type ReportLang } from './format.js';
export { renderHtml } from './html.js';
export { strings, translator, type StringKey } from './i18n.js';
export { renderJson, reportToJson } from './json.js';
export { chartSvg } from './svg.js';

export const reportFormats = ['json', 'csv', 'html'] as const;
export type ReportFormat = (typeof reportFormats)[number];

export interface RenderedReport {
  readonly body: string;
  readonly contentType: string;
  /** A download name: `anju-<type>-<site>-<first date>_<last date>.<ext>`. */
  readonly filename: string;
}

const slug = (s: string) => s.replace(/[^A-Za-z0-9_.-]+/g, '-');

export function renderReport(report: AnyReport, format: ReportFormat, opts: { lang?: ReportLang } = {}): RenderedReport {
  const filename = `anju-${report.type.replace('_', '-')}-${slug(report.site.id)}-${report.period.firstDate}_${report.period.lastDate}.${format}`;
  switch (format) {
    case 'json':
      return { body: renderJson(report, { lang: opts.lang ?? defaultLang }), contentType: 'application/json; charset=utf-8', filename };
    case 'csv':
      return { body: renderCsv(report, { lang: opts.lang ?? defaultLang }), contentType: 'text/csv; charset=utf-8', filename };
    case 'html':
      return { body: renderHtml(report, { lang: opts.lang ?? defaultLang }), contentType: 'text/html; charset=utf-8', filename };
  }
}
