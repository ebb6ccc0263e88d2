/// <reference lib="dom" />
import { compareChart } from '../charts.js';
import { h, replace } from '../dom.js';
import { formatNumber } from '../format.js';
import { t } from '../i18n/index.js';
import type { Ctx } from '../store.js';
import type { Consumption, ConsumptionSeries } from '../types.js';

/**
 * `#/energy`: electricity and water of the site, hourly, today against the same weekday last week
 * (weekday against weekday: a Saturday is no baseline for a Monday), with the totals so far and
 * the change against the same hours last week. Refreshed every 5 minutes (hourly data).
 */

const REFRESH_MS = 5 * 60_000;

export function energyView(root: HTMLElement, ctx: Ctx): () => void {
  let stopped = false;
  replace(root, h('h1', { class: 'page-title' }, t('energy.title'), ' · ', ctx.site.name), h('p', { class: 'muted' }, t('common.loading')));

  const section = (key: 'energy' | 'water', data: Consumption, s: ConsumptionSeries) => {
    const what = t(key === 'energy' ? 'energy.energy' : 'energy.water');
    const change = s.totalCompareSameHours > 0 ? ((s.totalToday - s.totalCompareSameHours) / s.totalCompareSameHours) * 100 : null;
    const changeText = change === null ? t('energy.noCompare') : `${change > 0 ? '+' : change < 0 ? '−' : '±'}${formatNumber(Math.abs(change), 1)}%`;
    const box = h('div', { class: 'chart', role: 'img', 'aria-label': t('energy.chartLabel', { what, unit: s.unit }) });
    const el = h('section', { class: 'panel', 'aria-labelledby': `${key}-h`, 'data-series': key },
      h('h2', { id: `${key}-h` }, what, ` (${s.unit})`),
      h('dl', { class: 'totals' },
        h('div', null, h('dt', null, t('energy.totalToday')), h('dd', { 'data-total': 'today' }, `${formatNumber(s.totalToday, 2)} ${s.unit}`)),
        h('div', null, h('dt', null, t('energy.totalCompareSame')), h('dd', null, `${formatNumber(s.totalCompareSameHours, 2)} ${s.unit}`)),
        h('div', null, h('dt', null, t('energy.change')), h('dd', { class: change === null ? '' : change > 0 ? 'up' : 'down', 'data-total': 'change' }, changeText)),
        h('div', null, h('dt', null, t('energy.totalCompare')), h('dd', null, `${formatNumber(s.totalCompare, 2)} ${s.unit}`))),
      h('figure', { class: 'chart-figure' }, box));
    return { el, draw: () => compareChart(box, { hours: data.hours, today: s.today, compare: s.compare, unit: s.unit, todayName: `${t('energy.today')} ${data.date}`, compareName: `${t('energy.compare')} ${data.compareDate}` }) };
  };

  const load = async () => {
    try {
      const data = await ctx.api.get<Consumption>(`/api/sites/${encodeURIComponent(ctx.site.id)}/consumption`);
      if (stopped) return;
      const energy = section('energy', data, data.energy);
      const water = section('water', data, data.water);
      replace(root,
        h('h1', { class: 'page-title' }, t('energy.title'), ' · ', ctx.site.name),
        h('p', { class: 'muted' }, t('energy.subtitle', { date: data.date, compareDate: data.compareDate })),
        h('div', { class: 'energy-grid' }, energy.el, water.el));
      energy.draw();
      water.draw();
    } catch (err) {
      if (!stopped) replace(root, h('h1', { class: 'page-title' }, t('energy.title')), h('p', { class: 'error', role: 'alert' }, t('common.error', { message: (err as Error).message })));
    }
  };
  void load();
  const timer = window.setInterval(() => void load(), REFRESH_MS);
  return () => {
    stopped = true;
    window.clearInterval(timer);
  };
}
