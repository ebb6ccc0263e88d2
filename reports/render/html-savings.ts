import { gridScopeNames, gridFactorSource } from '../../core/index.js';
import type { G14Assessment, SavingsClaim, SavingsLine, SavingsReport } from '../contracts.js';
import { colors, footer, header, kpi, periodText, table, warningsSection, type Ctx } from './html-parts.js';
import { buildingNames, lineName, noteText } from './notes.js';
import { chartSvg, escapeXml as esc } from './svg.js';

/**
 * The savings report in HTML. It leads with what may be claimed: a status box (the baseline is
 * sufficient for CalTRACK 2.0, or it is not and nothing is claimed), then KPI tiles that carry a
 * number only for savings that meet the ASHRAE G14 whole-building criteria, then every line with
 * its claim and the reason for it, the meters by their registry names, the notes, and the method
 * with the CalTRACK sections and G14 criteria it rests on.
 */

const lineLabel = (l: SavingsLine, r: SavingsReport, c: Ctx): string => lineName(l, c.t, buildingNames(r));

/** Reports stored before claims existed: their `significant` flag, no reasons. */
const claimOf = (l: SavingsLine): SavingsClaim => l.claim ?? { status: l.significant ? 'significant' : 'not_significant', reasons: [] };
const g14Of = (l: SavingsLine): G14Assessment['status'] => l.g14?.status ?? (l.judgement.pass ? 'met' : 'not_met');

function claimText(l: SavingsLine, c: Ctx): string {
  const claim = claimOf(l);
  const reasons = claim.reasons.map((x) => c.t(`reason.${x}`));
  const cls = claim.status === 'significant' ? 'pass' : claim.status === 'withheld' ? 'withheld' : '';
  const label = claim.status === 'significant' && l.avoided < 0 ? c.t('claim.increase') : c.t(`claim.${claim.status}`);
  const why = reasons.length ? (c.f.lang === 'zh-CN' ? `（${reasons.join('；')}）` : ` (${reasons.join('; ')})`) : '';
  return `<span class="${cls}">${esc(label)}</span>${esc(why)}`;
}

function modelText(l: SavingsLine, c: Ctx): string {
  const m = l.model;
  const n = (v: number | undefined) => c.f.num(v ?? null);
  if (m.type === 'day_type') return c.t('model.day_type', { weekday: `${n(m.weekday)} ${l.unit}`, weekend: `${n(m.weekend)} ${l.unit}` });
  return c.t(`model.${m.type}`, {
    intercept: `${n(m.intercept)} ${l.unit}`, betaHdd: n(m.betaHdd), betaCdd: n(m.betaCdd), hddBalance: n(m.hddBalance), cddBalance: n(m.cddBalance),
  });
}

function statusBox(r: SavingsReport, c: Ctx): string {
  const s = r.sufficiency;
  if (!s) return '';
  const sites = r.lines.filter((l) => l.scope === 'site');
  if (s.status === 'insufficient') {
    const note = r.warnings.find((w) => w.code === 'insufficient_baseline');
    return `<section class="status insufficient" role="alert"><h2>${esc(c.t('status.insufficient.title'))}</h2><p>${esc(note ? noteText(note, r, c.t, c.f) : '')}</p></section>`;
  }
  const body = c.t('status.sufficient.body', {
    days: s.days, coveragePct: c.f.pct(s.coverage, 1), required: s.requiredDays, minCoveragePct: c.f.pct(s.minCoverage, 0),
    significant: sites.filter((l) => l.significant).length, lines: sites.length,
  });
  return `<section class="status"><h2>${esc(c.t('status.sufficient.title'))}</h2><p>${esc(body)}</p></section>`;
}

function kpis(r: SavingsReport, c: Ctx): string {
  const { t, f } = c;
  const tiles: string[] = [];
  const anyClaim = r.lines.some((l) => l.scope === 'site' && l.significant);
  tiles.push(kpi(t('kpi.costAvoided'), anyClaim ? f.money(r.totals.costAvoided) : '–', anyClaim ? t('kpi.totalsBasis') : t('kpi.noClaim')));
  tiles.push(kpi(t('kpi.co2Avoided'), anyClaim ? `${f.num(r.totals.co2AvoidedKg / 1000, 2)} ${t('unit.t')}` : '–', anyClaim ? `${f.num(r.totals.co2AvoidedKg)} ${t('unit.kg')} · ${t('kpi.totalsBasis')}` : t('kpi.noClaim')));
  for (const [u, key] of [['electricity', 'kpi.energyAvoided'], ['water', 'kpi.waterAvoided']] as const) {
    const l = r.lines.find((x) => x.utility === u && x.scope === 'site');
    if (!l) continue;
    const claim = claimOf(l);
    const estimate = `${f.num(l.avoided)} ${l.unit} · ${f.pct(l.avoidedFraction)} ± ${f.pct(l.uncertainty.onFraction)}`;
    if (claim.status === 'withheld') {
      tiles.push(kpi(t(key), '–', `${t('kpi.claim.withheld', { reason: claim.reasons.map((x) => t(`reason.${x}`)).join(f.lang === 'zh-CN' ? '；' : '; ') })} · ${estimate}`));
    } else {
      const verdict = claim.status === 'significant' && l.avoided < 0 ? t('kpi.claim.increase') : t(`kpi.claim.${claim.status}`);
      tiles.push(kpi(t(key), `${f.num(l.avoided)} ${l.unit}`, `${f.pct(l.avoidedFraction)} ± ${f.pct(l.uncertainty.onFraction)} · ${verdict}`));
    }
  }
  return `<section class="keep"><h2>${esc(t('sec.summary'))}</h2><div class="kpis">${tiles.join('')}</div></section>`;
}

function charts(r: SavingsReport, c: Ctx): string {
  // The whole-site line of each utility; without one, the first line of the utility.
  const shown: SavingsLine[] = [];
  for (const u of ['electricity', 'water'] as const) {
    const l = r.lines.find((x) => x.utility === u && x.scope === 'site') ?? r.lines.find((x) => x.utility === u);
    if (l) shown.push(l);
  }
  const figs: string[] = [];
  for (const l of shown) {
    const label = lineLabel(l, r, c);
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
    // Cumulative savings over the days compared (a day without a projection adds nothing).
    let cum = 0;
    const cumValues = l.daily.length
      ? l.daily.map((d) => (d.actual === null || d.projected === null ? null : (cum += d.projected - d.actual)))
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

function methodology(r: SavingsReport, c: Ctx): string {
  const { t, f } = c;
  const g14Cell = (l: SavingsLine) => {
    if (!l.g14) return '–';
    const s = g14Of(l);
    return `<span class="${s === 'met' ? 'pass' : s === 'withheld' ? 'withheld' : 'fail'}">${esc(t(`g14.${s}`))}</span>`;
  };
  const fitTables = r.lines.map((l) => {
    const g = l.g14;
    const rows = [
      [esc(t('metric.n')), f.num(l.fit.n, 0), '–', '–'],
      [esc(t('metric.p')), f.num(l.fit.p, 0), '–', '–'],
      ...(l.sufficiency ? [[esc(t('metric.coverage')), f.pct(l.sufficiency.coverage), `≥ ${f.pct(l.sufficiency.minCoverage, 0)}`, '–']] : []),
      [esc(t('metric.r2')), f.num(l.fit.r2, 3), '–', '–'],
      [esc(t('metric.adjR2')), f.num(l.fit.adjR2, 3), '–', '–'],
      [esc(t('metric.cvrmse')), f.pct(l.fit.cvrmse), g ? `≤ ${f.pct(g.cvrmseMax, 0)}` : '–', g14Cell(l)],
      [esc(t('metric.nmbe')), f.pct(l.fit.nmbe, 2), esc(t('metric.nmbeNote')), '–'],
      [esc(t('metric.fsu', { confidence: 68 })), f.pct(g?.fsu68 ?? null), g ? `< ${f.pct(g.fsuMax, 0)}` : '–', g14Cell(l)],
      [esc(t('metric.fsu', { confidence: l.uncertainty.confidence })), f.pct(l.uncertainty.fractional), '–', '–'],
      ...(l.temperatureRange ? [
        [esc(t('metric.tempRange')), `${f.num(l.temperatureRange.baselineMin, 1)} – ${f.num(l.temperatureRange.baselineMax, 1)} °C`, '–', '–'],
        [esc(t('metric.outside')), `${f.num(l.temperatureRange.outside, 0)} / ${f.num(l.temperatureRange.days, 0)}`, '≤ 10%', '–'],
      ] : []),
    ];
    return `<h3>${esc(lineLabel(l, r, c))}</h3><p>${esc(modelText(l, c))}</p>${table(
      [[t('col.metric')], [t('col.value'), true], [t('col.limit'), true], [t('col.result')]], rows, c,
    )}`;
  });
  const ef = r.emissionFactor;
  const builtIn = ef.scope !== undefined && ef.scope in gridScopeNames[f.lang];
  const scope = builtIn ? gridScopeNames[f.lang][ef.scope as keyof (typeof gridScopeNames)['en']] : t('scope.custom');
  const source = builtIn ? gridFactorSource[f.lang] : ef.source;
  const confidence = r.lines[0]?.uncertainty.confidence ?? 90;
  return `<section class="methodology"><h2>${esc(t('sec.methodology'))}</h2>
<p>${esc(t('method.ipmvp'))}</p>
<p>${esc(t('method.model', { model: t(`method.modelChoice.${r.method.model}`) }))}</p>
<p>${esc(t('method.caltrack'))}</p>
<p>${esc(t('method.sufficiency'))}</p>
<p>${esc(t('method.range'))}</p>
<p>${esc(t('method.g14'))}</p>
<p>${esc(t('method.uncertainty', { confidence }))}</p>
<p><strong>${esc(t('method.co2', { factor: f.num(ef.kgCO2PerKWh, 4), scope, year: ef.year, source, water: f.num(ef.waterKWhPerM3, 3) }))}</strong>${ef.scope === 'national' ? ` ${esc(t('method.co2.national'))}` : ''}</p>
<p>${esc(t('method.tariffs', { electricity: f.money(r.tariffs.electricity), water: f.money(r.tariffs.water) }))} ${esc(t('method.totals'))}</p>
${fitTables.join('')}
</section>`;
}

export function savingsHtml(r: SavingsReport, c: Ctx): string {
  const { t, f } = c;
  const lineRows = r.lines.map((l) => [
    esc(lineLabel(l, r, c)), esc(l.unit), f.num(l.projected), f.num(l.actual), f.num(l.avoided), f.pct(l.avoidedFraction),
    f.num(l.uncertainty.absolute), f.num(l.uncertainty.m, 0), claimText(l, c), f.money(l.cost.costAvoided), f.num(l.cost.co2AvoidedKg),
    `<span class="${g14Of(l) === 'met' ? 'pass' : g14Of(l) === 'withheld' ? 'withheld' : 'fail'}">${esc(t(`g14.${g14Of(l)}`))}</span>`,
  ]);
  const linesTable = table(
    [[t('col.line')], [t('col.unit')], [t('col.projected'), true], [t('col.actual'), true], [t('col.avoided'), true], [t('col.avoidedPct'), true],
      [t('col.uncertainty'), true], [t('col.days'), true], [t('col.claim')], [t('col.cost'), true], [t('col.co2'), true], [t('col.g14')]],
    lineRows, c,
  );
  const monthlyTables = r.lines
    .filter((l) => l.scope === 'site')
    .map((l) => `<h3>${esc(lineLabel(l, r, c))}</h3>${table(
      [[t('col.month')], [t('col.projected'), true], [t('col.actual'), true], [t('col.avoided'), true]],
      l.monthly.map((m) => [esc(m.month), f.num(m.projected), f.num(m.actual), f.num(m.avoided)]), c,
    )}`)
    .join('');
  const names = buildingNames(r);
  const meterRows = r.meters.map((m) => [
    esc(m.name ?? m.device), esc(names(m.building) ?? m.building), esc(t(`purpose.${m.purpose}`)), esc(t(`utility.${m.utility}`)), `${f.num(m.total)} ${esc(m.unit)}`,
    f.pct(m.completeness), String(m.resets.length), String(m.gaps.length),
  ]);
  const metersTable = table(
    [[t('col.meter')], [t('col.building')], [t('col.purpose')], [t('col.utility')], [t('col.total'), true], [t('col.completeness'), true], [t('col.resets'), true], [t('col.gaps'), true]],
    meterRows, c,
  );
  const baselineRows: [string, string][] = [[t('head.baseline'), periodText(r.baseline, c)]];
  if (r.requestedBaseline) baselineRows.push([t('head.requestedBaseline'), periodText(r.requestedBaseline, c)]);
  return [
    header(r, baselineRows, c),
    statusBox(r, c),
    kpis(r, c),
    charts(r, c),
    `<section><h2>${esc(t('sec.lines'))}</h2>${linesTable}<p class="note">${esc(t('g14.footnote'))}</p>${monthlyTables}</section>`,
    `<section><h2>${esc(t('sec.meters'))}</h2>${metersTable}</section>`,
    warningsSection(r, c),
    methodology(r, c),
    footer(r, c),
  ].join('\n');
}
