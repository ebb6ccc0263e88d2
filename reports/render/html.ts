import type { AnyReport, FireSafetyReport, ReportHeader, ReportPeriod, SavingsLine, SavingsReport, WasteReport } from '../contracts.js';
import { defaultLang, formatter, type Formatter, type ReportLang } from './format.js';
import { hasString, translator, type Translate } from './i18n.js';
import { chartSvg, escapeXml as esc } from './svg.js';

/**
 * The printable HTML report: one self-contained file (inline CSS, charts as inline SVG, no script,
 * no font or image fetched), laid out for A4 paper (print CSS: @page size and margins, sections kept
 * whole where they fit, table headers repeated across pages, the methodology on a page of its own).
 * Every word comes from the strings table (i18n.ts) in the report's language; numbers and dates are
 * formatted for that language, dates in the site's time zone. Free text from the data (warning
 * messages, the uncertainty method, G14 notes) is printed as it is.
 */

export interface HtmlOptions {
  readonly lang?: ReportLang;
}

const colors = { baseline: '#9aa5b1', actual: '#1f77b4', cumulative: '#2ca02c', previous: '#c7c7c7', current: '#ff7f0e', alarms: '#d62728' };

const css = `
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

interface Ctx {
  readonly t: Translate;
  readonly f: Formatter;
}

const td = (v: string, numeric = false) => `<td${numeric ? ' class="n"' : ''}>${v}</td>`;
const th = (v: string, numeric = false) => `<th${numeric ? ' class="n"' : ''}>${esc(v)}</th>`;

function table(head: readonly [string, boolean?][], rows: readonly string[][], c: Ctx): string {
  if (rows.length === 0) return `<p class="note">${esc(c.t('empty'))}</p>`;
  return `<table><thead><tr>${head.map(([h, n]) => th(h, n)).join('')}</tr></thead><tbody>${rows
    .map((r) => `<tr>${r.map((cell, i) => td(cell, head[i]?.[1] === true)).join('')}</tr>`)
    .join('')}</tbody></table>`;
}

function kpi(label: string, value: string, sub?: string): string {
  return `<div class="kpi"><div class="label">${esc(label)}</div><div class="value">${esc(value)}</div>${sub ? `<div class="sub">${esc(sub)}</div>` : ''}</div>`;
}

const periodText = (p: ReportPeriod, c: Ctx) => c.t('head.periodRange', { from: p.firstDate, to: p.lastDate, days: c.t('head.days', { n: p.days }) });

function header(r: ReportHeader & { type: AnyReport['type'] }, extra: [string, string][], c: Ctx): string {
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

function warningsSection(r: ReportHeader, c: Ctx): string {
  const items = r.warnings.map((w) => `<li><strong>${esc(c.t(`warning.${w.code}`))}</strong>${w.device ? ` [${esc(w.device)}]` : ''}: ${esc(w.message)}</li>`);
  return `<section class="keep"><h2>${esc(c.t('sec.warnings'))}</h2>${items.length ? `<ul class="warnings">${items.join('')}</ul>` : `<p class="note">${esc(c.t('warnings.none'))}</p>`}</section>`;
}

function footer(r: ReportHeader, c: Ctx): string {
  return `<footer class="doc">${esc(c.t('footer', { site: r.site.name, period: `${r.period.firstDate} – ${r.period.lastDate}` }))}</footer>`;
}

// ───────────────────────────── savings ─────────────────────────────

function lineLabel(l: SavingsLine, c: Ctx): string {
  const u = c.t(`utility.${l.utility}`);
  if (l.scope === 'purpose' && l.purpose) return `${u} · ${c.t(`purpose.${l.purpose}`)}`;
  if (l.scope === 'building' && l.building) return `${u} · ${c.t('col.building')} ${l.building}`;
  return `${u} · ${c.t('scope.site')}`;
}

function modelText(l: SavingsLine, c: Ctx): string {
  const m = l.model;
  const n = (v: number | undefined) => c.f.num(v ?? null);
  if (m.type === 'day_type') return c.t('model.day_type', { weekday: `${n(m.weekday)} ${l.unit}`, weekend: `${n(m.weekend)} ${l.unit}` });
  return c.t(`model.${m.type}`, {
    intercept: `${n(m.intercept)} ${l.unit}`, betaHdd: n(m.betaHdd), betaCdd: n(m.betaCdd), hddBalance: n(m.hddBalance), cddBalance: n(m.cddBalance),
  });
}

function savingsCharts(r: SavingsReport, c: Ctx): string {
  // The whole-site line of each utility; without one, the first line of the utility.
  const shown: SavingsLine[] = [];
  for (const u of ['electricity', 'water'] as const) {
    const l = r.lines.find((x) => x.utility === u && x.scope === 'site') ?? r.lines.find((x) => x.utility === u);
    if (l) shown.push(l);
  }
  const figs: string[] = [];
  for (const l of shown) {
    const label = lineLabel(l, c);
    const byMonth = l.monthly.length >= 2 || l.daily.length === 0;
    const labels = byMonth ? l.monthly.map((m) => c.f.month(Date.parse(`${m.month}-15T00:00:00Z`))) : l.daily.map((d) => d.date.slice(5));
    const title = c.t(byMonth ? 'chart.monthly' : 'chart.daily', { line: label });
    figs.push(
      `<figure><figcaption>${esc(title)}</figcaption>${chartSvg({
        title, labels, unit: l.unit, format: (v) => c.f.num(v),
        series: [
          { name: c.t('series.baseline'), type: 'bar', color: colors.baseline, values: byMonth ? l.monthly.map((m) => m.projected) : l.daily.map((d) => d.projected) },
          { name: c.t('series.actual'), type: 'bar', color: colors.actual, values: byMonth ? l.monthly.map((m) => m.actual) : l.daily.map((d) => d.actual) },
        ],
      })}</figure>`,
    );
    // Cumulative savings by day where days are known (finer than months), else by month.
    let cum = 0;
    const cumValues = l.daily.length
      ? l.daily.map((d) => (d.actual === null ? null : (cum += d.projected - d.actual)))
      : l.monthly.map((m) => (cum += m.avoided));
    const cumLabels = l.daily.length ? l.daily.map((d) => d.date.slice(5)) : labels;
    const cumTitle = c.t('chart.cumulative', { line: label });
    figs.push(
      `<figure><figcaption>${esc(cumTitle)}</figcaption>${chartSvg({
        title: cumTitle, labels: cumLabels, unit: l.unit, format: (v) => c.f.num(v),
        series: [{ name: c.t('series.cumulative'), type: 'line', color: colors.cumulative, values: cumValues }],
      })}</figure>`,
    );
  }
  return figs.length ? `<section><h2>${esc(c.t('sec.charts'))}</h2>${figs.join('')}</section>` : '';
}

function savingsHtml(r: SavingsReport, c: Ctx): string {
  const { t, f } = c;
  const avoided = (u: 'electricity' | 'water') => r.lines.find((l) => l.utility === u && l.scope === 'site');
  const elec = avoided('electricity');
  const water = avoided('water');
  const kpis = [
    kpi(t('kpi.costAvoided'), f.money(r.totals.costAvoided)),
    kpi(t('kpi.co2Avoided'), `${f.num(r.totals.co2AvoidedKg / 1000, 2)} ${t('unit.t')}`, `${f.num(r.totals.co2AvoidedKg)} ${t('unit.kg')}`),
    ...(elec ? [kpi(t('kpi.energyAvoided'), `${f.num(elec.avoided)} kWh`, `${f.pct(elec.avoidedFraction)} ± ${f.pct(elec.uncertainty.onFraction)}`)] : []),
    ...(water ? [kpi(t('kpi.waterAvoided'), `${f.num(water.avoided)} m³`, `${f.pct(water.avoidedFraction)} ± ${f.pct(water.uncertainty.onFraction)}`)] : []),
  ];
  const lineRows = r.lines.map((l) => [
    esc(lineLabel(l, c)), esc(l.unit), f.num(l.projected), f.num(l.actual), f.num(l.avoided), f.pct(l.avoidedFraction),
    f.num(l.uncertainty.absolute), esc(t(l.significant ? 'yes' : 'no')), f.money(l.cost.costAvoided), f.num(l.cost.co2AvoidedKg),
    `<span class="${l.judgement.pass ? 'pass' : 'fail'}">${esc(t(l.judgement.pass ? 'pass' : 'fail'))}</span>`,
  ]);
  const linesTable = table(
    [[t('col.line')], [t('col.unit')], [t('col.projected'), true], [t('col.actual'), true], [t('col.avoided'), true], [t('col.avoidedPct'), true],
      [t('col.uncertainty'), true], [t('col.significant')], [t('col.cost'), true], [t('col.co2'), true], [t('col.fit')]],
    lineRows, c,
  );
  const monthlyTables = r.lines
    .filter((l) => l.scope === 'site')
    .map((l) => `<h3>${esc(lineLabel(l, c))}</h3>${table(
      [[t('col.month')], [t('col.projected'), true], [t('col.actual'), true], [t('col.avoided'), true]],
      l.monthly.map((m) => [esc(m.month), f.num(m.projected), f.num(m.actual), f.num(m.avoided)]), c,
    )}`)
    .join('');
  const meterRows = r.meters.map((m) => [
    esc(m.device), esc(m.building), esc(t(`purpose.${m.purpose}`)), esc(t(`utility.${m.utility}`)), `${f.num(m.total)} ${esc(m.unit)}`,
    f.pct(m.completeness), String(m.resets.length), String(m.gaps.length),
  ]);
  const metersTable = table(
    [[t('col.device')], [t('col.building')], [t('col.purpose')], [t('col.utility')], [t('col.total'), true], [t('col.completeness'), true], [t('col.resets'), true], [t('col.gaps'), true]],
    meterRows, c,
  );

  // Methodology: method, models, G14 metrics with limits and verdicts, uncertainty, CO₂ factor and year, tariffs.
  const fitTables = r.lines.map((l) => {
    const verdict = (ok: boolean) => `<span class="${ok ? 'pass' : 'fail'}">${esc(t(ok ? 'pass' : 'fail'))}</span>`;
    const rows = [
      [esc(t('metric.n')), f.num(l.fit.n, 0), '–', '–'],
      [esc(t('metric.p')), f.num(l.fit.p, 0), '–', '–'],
      [esc(t('metric.r2')), f.num(l.fit.r2, 3), '–', '–'],
      [esc(t('metric.adjR2')), f.num(l.fit.adjR2, 3), '–', '–'],
      [esc(t('metric.cvrmse')), f.pct(l.fit.cvrmse), `≤ ${f.pct(l.limits.cvrmseMax, 0)}`, verdict(l.judgement.cvrmse)],
      [esc(t('metric.nmbe')), f.pct(l.fit.nmbe, 2), `± ${f.pct(l.limits.nmbeMax, 0)}`, verdict(l.judgement.nmbe)],
      [esc(t('metric.fsu', { confidence: l.uncertainty.confidence })), f.pct(l.uncertainty.fractional), '–', '–'],
    ];
    return `<h3>${esc(lineLabel(l, c))}</h3><p>${esc(modelText(l, c))}</p>${table(
      [[t('col.metric')], [t('col.value'), true], [t('col.limit'), true], [t('col.result')]], rows, c,
    )}<p class="note">${esc(l.limits.source)}${l.limits.note ? ` — ${esc(l.limits.note)}` : ''}</p>`;
  });
  const anyFail = r.lines.some((l) => !l.judgement.pass);
  const basis = r.lines[0]?.limits.basis ?? 'hourly';
  const uncertaintyMethod = r.lines[0]?.uncertainty.method ?? '';
  const methodology = `<section class="methodology"><h2>${esc(t('sec.methodology'))}</h2>
<p>${esc(t('method.ipmvp'))}</p>
<p>${esc(t('method.model', { model: t(`method.modelChoice.${r.method.model}`) }))}</p>
<p>${esc(t('method.g14', { basis: t(`method.basis.${basis}`) }))}</p>
${uncertaintyMethod ? `<p>${esc(t('method.uncertainty', { method: uncertaintyMethod }))}</p>` : ''}
<p><strong>${esc(t('method.co2', { factor: f.num(r.emissionFactor.kgCO2PerKWh, 4), year: r.emissionFactor.year, source: r.emissionFactor.source, water: f.num(r.emissionFactor.waterKWhPerM3, 3) }))}</strong></p>
<p>${esc(t('method.tariffs', { electricity: f.money(r.tariffs.electricity), water: f.money(r.tariffs.water) }))}</p>
${r.lines.length ? `<p class="${anyFail ? 'fail' : 'pass'}">${esc(t(anyFail ? 'g14.failSome' : 'g14.passAll'))}</p>` : ''}
${fitTables.join('')}
</section>`;

  return [
    header(r, [[t('head.baseline'), periodText(r.baseline, c)]], c),
    `<section class="keep"><h2>${esc(t('sec.summary'))}</h2><div class="kpis">${kpis.join('')}</div></section>`,
    savingsCharts(r, c),
    `<section><h2>${esc(t('sec.lines'))}</h2>${linesTable}${monthlyTables}</section>`,
    `<section><h2>${esc(t('sec.meters'))}</h2>${metersTable}</section>`,
    warningsSection(r, c),
    methodology,
    footer(r, c),
  ].join('\n');
}

// ───────────────────────────── waste ─────────────────────────────

function wasteHtml(r: WasteReport, c: Ctx): string {
  const { t, f } = c;
  const byWeight = r.shareBasis === 'weight';
  const value = (x: { weightKg: number | null; volumePct: number }) => (byWeight ? x.weightKg ?? 0 : x.volumePct);
  const cats = r.categories.map((x) => x.category);
  const prevOf = (cat: string) => r.previousCategories.find((p) => p.category === cat);
  const chartTitle = t('chart.waste', { basis: t(`basis.${r.shareBasis}`) });
  const chart = `<figure><figcaption>${esc(chartTitle)}</figcaption>${chartSvg({
    title: chartTitle, labels: cats.map((x) => t(`category.${x}`)), unit: byWeight ? t('unit.kg') : '%', format: (v) => f.num(v),
    series: [
      { name: t('series.previous'), type: 'bar', color: colors.previous, values: cats.map((x) => { const p = prevOf(x); return p ? value(p) : null; }) },
      { name: t('series.current'), type: 'bar', color: colors.current, values: r.categories.map(value) },
    ],
  })}</figure>`;
  const kpis = [
    kpi(t('kpi.collections'), f.num(r.totals.collections, 0)),
    kpi(t('kpi.overflows'), f.num(r.totals.overflowIncidents, 0)),
    kpi(t('kpi.overflowHours'), `${f.hours(r.totals.overflowHours)} ${t('unit.h')}`),
    ...(r.totals.weightKg !== null ? [kpi(t('kpi.weight'), `${f.num(r.totals.weightKg)} ${t('unit.kg')}`)] : []),
  ];
  const catTable = table(
    [[t('col.category')], [t('col.bins'), true], [t('col.collections'), true], [t('col.avgFill'), true], [t('col.overflows'), true], [t('col.overflowHours'), true],
      [t('col.weight'), true], [t('col.volume'), true], [t('col.share'), true]],
    r.categories.map((x) => [
      esc(t(`category.${x.category}`)), f.num(x.bins, 0), f.num(x.collections, 0), x.avgFillAtCollection === null ? '–' : `${f.num(x.avgFillAtCollection, 1)} %`,
      f.num(x.overflowIncidents, 0), f.hours(x.overflowHours), f.num(x.weightKg), f.num(x.volumePct), f.pct(x.share),
    ]), c,
  );
  const trendKeys: [keyof WasteReport['trend'], string][] = [
    ['collections', 'col.collections'], ['overflowIncidents', 'col.overflows'], ['overflowHours', 'col.overflowHours'], ['avgFillAtCollection', 'col.avgFill'],
  ];
  const trendTable = table(
    [[t('col.metric')], [t('col.current'), true], [t('col.previous'), true], [t('col.change'), true]],
    trendKeys.map(([k, label]) => {
      const x = r.trend[k];
      return [esc(t(label)), f.num(x.current), f.num(x.previous), x.change === null ? '–' : `${x.change > 0 ? '+' : ''}${f.pct(x.change)}`];
    }), c,
  );
  const binsTable = table(
    [[t('col.device')], [t('col.category')], [t('col.building')], [t('col.collections'), true], [t('col.overflows'), true], [t('col.overflowHours'), true]],
    r.bins.map((b) => [esc(b.device), esc(t(`category.${b.category}`)), esc(b.building), f.num(b.collections, 0), f.num(b.overflowIncidents, 0), f.hours(b.overflowHours)]), c,
  );
  return [
    header(r, [[t('head.previous'), periodText(r.previousPeriod, c)]], c),
    `<section class="keep"><h2>${esc(t('sec.summary'))}</h2><div class="kpis">${kpis.join('')}</div></section>`,
    `<section><h2>${esc(t('sec.charts'))}</h2>${chart}</section>`,
    `<section><h2>${esc(t('sec.categories'))}</h2>${catTable}</section>`,
    `<section class="keep"><h2>${esc(t('sec.trend'))}</h2>${trendTable}</section>`,
    `<section><h2>${esc(t('sec.bins'))}</h2>${binsTable}</section>`,
    warningsSection(r, c),
    `<section class="methodology"><h2>${esc(t('sec.methodology'))}</h2><p>${esc(t('method.waste', { drop: f.num(r.thresholds.collectionDropPct), overflow: f.num(r.thresholds.overflowPct) }))}</p></section>`,
    footer(r, c),
  ].join('\n');
}

// ───────────────────────────── fire safety ─────────────────────────────

/** Alarm type names: the strings table has the fire-related ones; others are printed as their id. */
function alarmTypeName(type: string, c: Ctx): string {
  return hasString(`alarm.${type}`) ? c.t(`alarm.${type}`) : type;
}

function fireHtml(r: FireSafetyReport, c: Ctx): string {
  const { t, f } = c;
  const types = Object.entries(r.alarms.byType).sort((a, b) => b[1] - a[1]);
  const chartTitle = t('chart.alarms');
  const chart = types.length
    ? `<figure><figcaption>${esc(chartTitle)}</figcaption>${chartSvg({
      title: chartTitle, labels: types.map(([k]) => alarmTypeName(k, c)), unit: t('col.count'), format: (v) => f.num(v, 0),
      series: [{ name: t('kpi.alarms'), type: 'bar', color: colors.alarms, values: types.map(([, n]) => n) }],
    })}</figure>`
    : '';
  const min = (v: number | null) => (v === null ? '–' : `${f.num(v, 1)} ${t('unit.min')}`);
  const kpis = [
    kpi(t('kpi.alarms'), f.num(r.alarms.total, 0)),
    kpi(t('kpi.mtta'), min(r.response.meanTimeToAckMin)),
    kpi(t('kpi.mttc'), min(r.response.meanTimeToClearMin)),
    kpi(t('kpi.batteryLow'), f.num(r.batteryLow.detectors.length, 0)),
  ];
  const alarmsTable = table(
    [[t('col.type')], [t('col.severity')], [t('col.count'), true]],
    r.alarms.byTypeAndSeverity.map((a) => [esc(alarmTypeName(a.type, c)), esc(t(`severity.${a.severity}`)), f.num(a.count, 0)]), c,
  );
  const responseTable = table(
    [[t('col.metric')], [t('col.value'), true]],
    [
      [esc(t('fire.acknowledged')), f.num(r.response.acknowledged, 0)],
      [esc(t('fire.cleared')), f.num(r.response.cleared, 0)],
      [esc(t('kpi.mtta')), min(r.response.meanTimeToAckMin)],
      [esc(t('kpi.mttc')), min(r.response.meanTimeToClearMin)],
      [esc(t('fire.nuisance')), f.num(r.nuisance.count, 0)],
      [esc(t('fire.tests')), f.num(r.tests.count, 0)],
      [esc(t('fire.testDevices')), f.num(r.tests.devices, 0)],
      ...(r.incidents ? [
        [esc(t('fire.incidents')), f.num(r.incidents.fire, 0)],
        [esc(t('fire.confirmedFires')), f.num(r.incidents.confirmedFires, 0)],
        [esc(t('fire.preAlarmsOnly')), f.num(r.incidents.preAlarmsOnly, 0)],
        [esc(t('fire.electricalIncidents')), f.num(r.incidents.electrical, 0)],
        [esc(t('fire.incidentMtta')), min(r.incidents.meanTimeToAckMin)],
      ] : []),
    ], c,
  );
  const offlineTable = `<p>${esc(t('fire.offlineHours'))}: ${f.hours(r.offline.hours)} · ${esc(t('fire.offlineIncidents'))}: ${f.num(r.offline.incidents, 0)}</p>${table(
    [[t('col.device')], [t('col.hours'), true]], r.offline.byDevice.map((d) => [esc(d.device), f.hours(d.hours)]), c,
  )}`;
  const batteryTable = table(
    [[t('col.device')], [t('col.building')], [t('col.location')], [t('col.battery'), true], [t('col.readAt')]],
    r.batteryLow.detectors.map((d) => [esc(d.device), esc(d.building), esc(d.location ?? ''), `${f.num(d.battery, 0)} %`, esc(f.dateTime(d.ts))]), c,
  );
  return [
    header(r, [], c),
    `<section class="keep"><h2>${esc(t('sec.summary'))}</h2><div class="kpis">${kpis.join('')}</div></section>`,
    chart ? `<section><h2>${esc(t('sec.charts'))}</h2>${chart}</section>` : '',
    `<section><h2>${esc(t('sec.alarms'))}</h2>${alarmsTable}</section>`,
    `<section class="keep"><h2>${esc(t('sec.response'))}</h2>${responseTable}</section>`,
    `<section><h2>${esc(t('sec.offline'))}</h2>${offlineTable}</section>`,
    `<section><h2>${esc(t('sec.battery'))}</h2>${batteryTable}</section>`,
    warningsSection(r, c),
    `<section class="methodology"><h2>${esc(t('sec.methodology'))}</h2><p>${esc(t('method.fire', { minutes: f.num(r.nuisance.thresholdMinutes), battery: f.num(r.batteryLow.thresholdPct) }))}</p></section>`,
    footer(r, c),
  ].join('\n');
}

export function renderHtml(report: AnyReport, opts: HtmlOptions = {}): string {
  const lang = opts.lang ?? defaultLang;
  const c: Ctx = { t: translator(lang), f: formatter(lang, report.site.timezone) };
  const body = report.type === 'savings' ? savingsHtml(report, c) : report.type === 'waste' ? wasteHtml(report, c) : fireHtml(report, c);
  const title = `${c.t(`doc.${report.type}`)} · ${report.site.name} · ${report.period.firstDate} – ${report.period.lastDate}`;
  return `<!DOCTYPE html>
<html lang="${lang}">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${esc(title)}</title>
<style>${css}</style>
</head>
<body>
${body}
</body>
</html>
`;
}
