import type { AnyReport, ReportHeader, ReportPeriod } from '../contracts.js';
import type { Formatter } from './format.js';
import type { Translate } from './i18n.js';
import { noteText } from './notes.js';
import { escapeXml as esc } from './svg.js';

/** What every HTML report shares: styles, the header and footer, tables, KPI tiles and the notes. */

export const colors = { baseline: '#9aa5b1', actual: '#1f77b4', cumulative: '#2ca02c', previous: '#c7c7c7', current: '#ff7f0e', alarms: '#d62728' };

export const css = `
*{box-sizing:border-box}
html{font-family:"Noto Sans CJK SC","Source Han Sans SC","PingFang SC","Microsoft YaHei","Helvetica Neue",Arial,sans-serif;color:#1a1a1a;font-size:11pt;line-height:1.45}
body{margin:0 auto;max-width:190mm;padding:12mm 0}
header.doc{border-bottom:3px solid #1f77b4;margin-bottom:6mm;padding-bottom:3mm}
header.doc .brand{color:#1f77b4;font-size:10pt;letter-spacing:.05em}
h1{font-size:20pt;margin:1mm 0 3mm}
h2{font-size:14pt;margin:7mm 0 2mm;border-bottom:1px solid #ccc;padding-bottom:1mm;break-after:avoid-page;page-break-after:avoid}
h3{font-size:11.5pt;margin:4mm 0 1.5mm;break-after:avoid-page;page-break-after:avoid}
dl.meta{display:grid;grid-template-columns:auto 1fr;gap:.5mm 5mm;margin:0;font-size:10pt}
dl.meta dt{color:#555}
dl.meta dd{margin:0}
.kpis{display:flex;flex-wrap:wrap;gap:3mm;margin:3mm 0}
.kpi{flex:1 1 40mm;border:1px solid #d0d7de;border-radius:2mm;padding:2.5mm 3mm;break-inside:avoid}
.kpi .label{font-size:9pt;color:#555}
.kpi .value{font-size:15pt;font-weight:600}
.kpi .sub{font-size:8.5pt;color:#555}
table{border-collapse:collapse;width:100%;font-size:9pt;margin:1.5mm 0 3mm}
thead{display:table-header-group}
tr{break-inside:avoid;page-break-inside:avoid}
th,td{border-bottom:1px solid #e1e4e8;padding:1.2mm 1.5mm;text-align:left;vertical-align:top}
th{background:#f3f5f7;font-weight:600}
th.n{text-align:right}
td.n{text-align:right;font-variant-numeric:tabular-nums;white-space:nowrap}
table{overflow-wrap:break-word}
.status{border:2px solid #1a7f37;background:#f3fbf5;border-radius:2mm;padding:3mm 4mm;margin:3mm 0 5mm;break-inside:avoid;page-break-inside:avoid}
.status.insufficient{border-color:#cf222e;background:#fff5f5}
.status h2{border:0;margin:0 0 1.5mm;padding:0;font-size:13pt}
.status p{margin:0}
.withheld{color:#9a6700;font-weight:600}
.pass{color:#1a7f37;font-weight:600}
.fail{color:#cf222e;font-weight:600}
.note{font-size:9pt;color:#555}
figure{margin:2mm 0 4mm;break-inside:avoid;page-break-inside:avoid}
figure svg.chart{width:100%;height:auto;display:block}
figcaption{font-size:9.5pt;color:#333;margin-bottom:1mm;font-weight:600}
section{margin-bottom:2mm}
section.keep{break-inside:avoid;page-break-inside:avoid}
section.methodology{break-before:page;page-break-before:always}
section.methodology p{margin:1.5mm 0;text-align:justify}
ul.warnings{margin:1mm 0;padding-left:5mm;font-size:9.5pt}
footer.doc{margin-top:8mm;border-top:1px solid #ccc;padding-top:2mm;font-size:8.5pt;color:#666}
@page{size:A4;margin:14mm 12mm 16mm}
@media print{body{max-width:none;padding:0}a{color:inherit;text-decoration:none}}
`;

export interface Ctx {
  readonly t: Translate;
  readonly f: Formatter;
}

export const td = (v: string, numeric = false) => `<td${numeric ? ' class="n"' : ''}>${v}</td>`;
export const th = (v: string, numeric = false) => `<th${numeric ? ' class="n"' : ''}>${esc(v)}</th>`;

export function table(head: readonly [string, boolean?][], rows: readonly string[][], c: Ctx): string {
  if (rows.length === 0) return `<p class="note">${esc(c.t('empty'))}</p>`;
  return `<table><thead><tr>${head.map(([h, n]) => th(h, n)).join('')}</tr></thead><tbody>${rows
    .map((r) => `<tr>${r.map((cell, i) => td(cell, head[i]?.[1] === true)).join('')}</tr>`)
    .join('')}</tbody></table>`;
}

export function kpi(label: string, value: string, sub?: string): string {
  return `<div class="kpi"><div class="label">${esc(label)}</div><div class="value">${esc(value)}</div>${sub ? `<div class="sub">${esc(sub)}</div>` : ''}</div>`;
}

export const periodText = (p: ReportPeriod, c: Ctx) => c.t('head.periodRange', { from: p.firstDate, to: p.lastDate, days: c.t('head.days', { n: p.days }) });

export function header(r: ReportHeader & { type: AnyReport['type'] }, extra: [string, string][], c: Ctx): string {
  const rows: [string, string][] = [
    [c.t('head.site'), `${r.site.name} (${r.site.id})`],
    [c.t('head.period'), periodText(r.period, c)],
    ...extra,
    [c.t('head.timezone'), r.site.timezone],
    [c.t('head.generated'), c.f.dateTime(r.generatedAt)],
    ...(r.id ? ([[c.t('head.reportId'), r.id]] as [string, string][]) : []),
  ];
  return `<header class="doc"><div class="brand">${esc(c.t('doc.brand'))}</div><h1>${esc(c.t(`doc.${r.type}`))}</h1><dl class="meta">${rows
    .map(([k, v]) => `<dt>${esc(k)}</dt><dd>${esc(v)}</dd>`)
    .join('')}</dl></header>`;
}

export function warningsSection(r: AnyReport, c: Ctx): string {
  const sep = c.f.lang === 'zh-CN' ? '：' : ': ';
  const items = r.warnings.map((w) => `<li><strong>${esc(c.t(`warning.${w.code}`))}</strong>${sep}${esc(noteText(w, r, c.t, c.f))}</li>`);
  return `<section class="keep"><h2>${esc(c.t('sec.warnings'))}</h2>${items.length ? `<ul class="warnings">${items.join('')}</ul>` : `<p class="note">${esc(c.t('warnings.none'))}</p>`}</section>`;
}

export function footer(r: ReportHeader, c: Ctx): string {
  return `<footer class="doc">${esc(c.t('footer', { site: r.site.name, period: `${r.period.firstDate} – ${r.period.lastDate}` }))}</footer>`;
}

