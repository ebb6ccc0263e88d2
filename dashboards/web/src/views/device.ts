/// <reference lib="dom" />
import { ApiError } from '../api.js';
import { timeLineChart } from '../charts.js';
import { h, replace } from '../dom.js';
import { categoryLabel, fieldLabel, fieldUnits, fieldValue, formatTime, isStateField, kindLabel } from '../format.js';
import { lang, t, tOr } from '../i18n/index.js';
import { buildingName, type Ctx } from '../store.js';
import type { Device, Latest, Series } from '../types.js';
import { createFeed } from './feed.js';

/**
 * `#/devices/<id>`: the device, its latest reading, and one line chart per numeric field over the
 * last 24 hours in 15-minute means (96 points: enough shape, little data).
 */

const DAY = 86_400_000;
/** Flags are not charted: their mean over a bucket says little on a line. */
const flagFields = new Set(['alarm', 'test', 'tilt', 'lid_open']);

export function deviceView(root: HTMLElement, ctx: Ctx, id: string): () => void {
  let stopped = false;
  replace(root, h('h1', { class: 'page-title' }, t('device.title', { id })), h('p', { class: 'muted' }, t('common.loading')));
  let feed: ReturnType<typeof createFeed> | undefined;

  const load = async () => {
    let device: Device;
    try {
      device = await ctx.api.get<Device>(`/api/devices/${encodeURIComponent(id)}`);
    } catch (err) {
      if (stopped) return;
      const msg = err instanceof ApiError && err.status === 404 ? t('common.notFound', { message: id }) : t('common.error', { message: (err as Error).message });
      replace(root, h('h1', { class: 'page-title' }, t('device.title', { id })), h('p', { class: 'error', role: 'alert' }, msg), h('p', null, h('a', { href: '#/' }, t('device.back'))));
      return;
    }
    const to = Date.now();
    const [latest, series] = await Promise.all([
      ctx.api.get<Latest>(`/api/devices/${encodeURIComponent(id)}/latest`).catch((err: unknown) => {
        if (err instanceof ApiError && err.status === 404) return undefined;
        throw err;
      }),
      ctx.api.get<Series>(`/api/devices/${encodeURIComponent(id)}/telemetry`, { from: to - DAY, to, every: '15m', agg: 'mean' }),
    ]).catch((err: unknown) => {
      if (!stopped) replace(root, h('p', { class: 'error', role: 'alert' }, t('common.error', { message: (err as Error).message })));
      return [undefined, undefined] as const;
    });
    if (stopped || !series) return;

    // State codes (a valve's, a breaker's) are not charted either: their numbers are names, not a scale.
    const charted = (k: string, v: unknown) => typeof v === 'number' && !flagFields.has(k) && !isStateField(device.kind, k);
    const numeric = new Set<string>();
    for (const [k, v] of Object.entries(latest?.fields ?? {})) if (charted(k, v)) numeric.add(k);
    for (const item of series.items) for (const [k, v] of Object.entries(item.values)) if (charted(k, v)) numeric.add(k);

    const charts = h('div', { class: 'charts' });
    feed = createFeed(ctx, { device: id, detailsHref: (aid) => `#/alarms/${encodeURIComponent(aid)}` });
    replace(root,
      h('p', null, h('a', { href: '#/' }, `← ${t('device.back')}`)),
      h('h1', { class: 'page-title' }, device.name, ' ', h('span', { class: 'muted' }, `(${device.id})`)),
      h('div', { class: 'device-grid' },
        h('section', { class: 'panel', 'aria-labelledby': 'dev-info-h' },
          h('h2', { id: 'dev-info-h' }, t('device.info')),
          h('dl', { class: 'facts' },
            h('dt', null, t('device.kind')), h('dd', null, kindLabel(device.kind)),
            h('dt', null, t('device.site')), h('dd', null, ctx.sites.find((s) => s.id === device.site)?.name ?? device.site),
            h('dt', null, t('device.building')), h('dd', null, buildingName(ctx, device.building)),
            device.location ? [h('dt', null, t('device.location')), h('dd', null, device.location)] : null,
            device.category ? [h('dt', null, t('device.category')), h('dd', null, categoryLabel(device.category))] : null,
            device.purpose ? [h('dt', null, t('device.purpose')), h('dd', null, tOr(`purpose.${device.purpose}`, device.purpose))] : null)),
        h('section', { class: 'panel', 'aria-labelledby': 'dev-latest-h' },
          h('h2', { id: 'dev-latest-h' }, t('device.latest')),
          latest
            ? [h('p', { class: 'muted small' }, t('device.at', { time: formatTime(latest.ts, ctx.site.timezone) })),
              h('dl', { class: 'facts readings' }, Object.entries(latest.fields).map(([k, v]) => [h('dt', null, fieldLabel(k)), h('dd', { 'data-field': k }, fieldValue(v, k, device.kind))]))]
            : h('p', { class: 'muted' }, t('device.noLatest'))),
        h('section', { class: 'panel', 'aria-labelledby': 'dev-alarms-h' }, h('h2', { id: 'dev-alarms-h' }, t('device.alarms')), feed.el)),
      h('section', { class: 'panel', 'aria-labelledby': 'dev-hist-h' }, h('h2', { id: 'dev-hist-h' }, t('device.history')), charts));

    if (!series.items.length || !numeric.size) {
      replace(charts, h('p', { class: 'muted' }, t('device.noHistory')));
      return;
    }
    for (const field of numeric) {
      const unit = fieldUnits[field] ?? '';
      const label = t('device.chartLabel', { field: fieldLabel(field), unit });
      const box = h('div', { class: 'chart', role: 'img', 'aria-label': label, 'data-field': field });
      charts.appendChild(h('figure', { class: 'chart-figure' }, h('figcaption', null, fieldLabel(field), unit ? ` (${unit})` : ''), box));
      const points = series.items.map((p): [number, number | null] => {
        const v = p.values[field];
        return [Date.parse(p.ts), typeof v === 'number' ? v : null];
      });
      timeLineChart(box, { name: fieldLabel(field), unit, points, timeZone: ctx.site.timezone, lang: lang() });
    }
  };

  void load();
  return () => {
    stopped = true;
    feed?.destroy();
  };
}
