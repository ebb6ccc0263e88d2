import type { AnyReport, FireSafetyReport, WasteReport } from '../contracts.js';
import { defaultLang, formatter, type ReportLang } from './format.js';
import { colors, css, footer, header, kpi, periodText, table, warningsSection, type Ctx } from './html-parts.js';
import { savingsHtml } from './html-savings.js';
import { hasString, translator } from './i18n.js';
import { chartSvg, escapeXml as esc } from './svg.js';

/**
 * The printable HTML report: one self-contained file (inline CSS, charts as inline SVG, no script,
 * no font or image fetched), laid out for A4 paper (print CSS: @page size and margins, sections kept
 * whole where they fit, table headers repeated across pages, the methodology on a page of its own).
 * Every word comes from the strings tables (i18n.ts, i18n-savings.ts) in the report's language —
 * notes too (render/notes.ts), and meters by their registry names; numbers and dates are formatted
 * for that language, dates in the site's time zone. Names from the registry are printed as they are.
 */

export interface HtmlOptions {
  readonly lang?: ReportLang;
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
