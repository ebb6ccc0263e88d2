/// <reference lib="dom" />
import { debounced, h, replace } from '../dom.js';
import { categoryLabel, formatNumber, formatTime, severityIcon, severityLabel } from '../format.js';
import { t } from '../i18n/index.js';
import type { Ctx } from '../store.js';
import { severities, type AlarmEvent, type Overview } from '../types.js';
import { paintAlarmEvent } from './overview-counts.js';
import { severityBadge } from './alarm-common.js';
import { createFeed } from './feed.js';

/**
 * The site overview: KPI strip, buildings as tiles coloured by their worst active alarm (with the
 * severity in text and shape too), bins by fill, and the live alarm feed beside them. It fetches
 * the overview once, again ~300 ms after alarm events settle, and every 60 s for device presence
 * and bin fill — never in a tight loop. A raise is painted on its tile at once, before the
 * re-fetch, so a fire turns its building red as soon as the event arrives.
 */

const DEBOUNCE_MS = 300;
const SLOW_REFRESH_MS = 60_000;

/** The building filter survives leaving and coming back to the overview; per site (building ids are per site). */
const buildingFilterBySite = new Map<string, string | undefined>();

export function overviewView(root: HTMLElement, ctx: Ctx): () => void {
  let buildingFilter = buildingFilterBySite.get(ctx.site.id);
  let data: Overview | undefined;
  let error: string | undefined;
  let inFlight = false;
  let again = false;

  const kpis = h('section', { class: 'kpis', 'aria-labelledby': 'kpi-h' });
  const tiles = h('div', { class: 'tiles' });
  const bins = h('div', { class: 'bins' });
  const updated = h('p', { class: 'muted small' });
  const feed = createFeed(ctx, { building: buildingFilter, detailsHref: (id) => `#/alarms/${encodeURIComponent(id)}` });
  const clearFilter = h('button', { type: 'button', class: 'btn', hidden: !buildingFilter, onclick: () => setFilter(undefined) }, t('feed.clearFilter'));

  replace(root,
    h('h1', { class: 'page-title' }, t('overview.title'), ' · ', ctx.site.name),
    h('h2', { id: 'kpi-h', class: 'sr-only' }, t('overview.kpis')),
    kpis,
    h('div', { class: 'overview-grid' },
      h('section', { class: 'panel', 'aria-labelledby': 'bld-h' },
        h('h2', { id: 'bld-h' }, t('overview.buildings')),
        h('p', { class: 'muted small', id: 'bld-help' }, t('overview.buildingsHelp')),
        tiles,
        h('h2', { id: 'bins-h' }, t('overview.bins')),
        bins,
        updated),
      h('section', { class: 'panel feed-panel', 'aria-labelledby': 'feed-h' },
        h('div', { class: 'panel-head' }, h('h2', { id: 'feed-h' }, t('feed.title')), clearFilter),
        feed.el)),
  );

  function setFilter(building: string | undefined) {
    buildingFilter = building;
    buildingFilterBySite.set(ctx.site.id, building);
    clearFilter.hidden = !building;
    feed.update({ building });
    renderTiles();
  }

  function renderKpis() {
    if (!data) {
      replace(kpis, error ? h('p', { class: 'error', role: 'alert' }, t('overview.noOverview', { message: error })) : h('p', { class: 'muted' }, t('common.loading')));
      return;
    }
    const d = data;
    const sevCards = severities.map((s) => h('div', { class: `kpi sev-${s}`, 'data-kpi': s },
      h('span', { class: 'kpi-label' }, h('span', { 'aria-hidden': 'true' }, severityIcon[s]), ' ', severityLabel(s)),
      h('span', { class: 'kpi-value' }, String(d.alarms.bySeverity[s] ?? 0))));
    replace(kpis,
      h('div', { class: 'kpi total', 'data-kpi': 'active' }, h('span', { class: 'kpi-label' }, t('overview.activeAlarms')), h('span', { class: 'kpi-value' }, String(d.alarms.active))),
      sevCards,
      h('div', { class: 'kpi presence-online', 'data-kpi': 'online' }, h('span', { class: 'kpi-label' }, t('overview.online')), h('span', { class: 'kpi-value' }, `${d.devices.online}/${d.devices.total}`)),
      h('div', { class: 'kpi presence-offline', 'data-kpi': 'offline' }, h('span', { class: 'kpi-label' }, t('overview.offline')), h('span', { class: 'kpi-value' }, String(d.devices.offline))),
      h('div', { class: 'kpi presence-never', 'data-kpi': 'never' }, h('span', { class: 'kpi-label' }, t('overview.never')), h('span', { class: 'kpi-value' }, String(d.devices.never))));
  }

  function renderTiles() {
    if (!data) {
      replace(tiles);
      return;
    }
    const focusedBuilding = (document.activeElement as HTMLElement | null)?.dataset?.building;
    const hadFocus = tiles.contains(document.activeElement);
    replace(tiles, data.buildings.map((b) => {
      const sev = b.worst;
      const state = sev ? t('overview.tileAlarms', { severity: severityLabel(sev), count: b.activeAlarms }) : t('overview.tileNormal');
      return h('button', {
        type: 'button',
        class: `tile sev-${sev ?? 'none'}${buildingFilter === b.id ? ' selected' : ''}`,
        'data-building': b.id,
        'data-severity': sev ?? 'none',
        'aria-pressed': buildingFilter === b.id ? 'true' : 'false',
        'aria-label': t('overview.tileLabel', { name: b.name, state, online: b.devices.online, total: b.devices.total }),
        onclick: () => setFilter(buildingFilter === b.id ? undefined : b.id),
      },
      h('span', { class: 'tile-name' }, b.name),
      sev ? severityBadge(sev, `×${b.activeAlarms}`) : severityBadge(null),
      h('span', { class: 'tile-devices' }, t('overview.devicesOnline', { online: b.devices.online, total: b.devices.total }),
        b.devices.offline ? h('span', { class: 'offline' }, ` · ${t('overview.devicesOffline', { offline: b.devices.offline })}`) : null),
      b.floors ? h('span', { class: 'muted small' }, t('overview.floors', { floors: b.floors })) : null);
    }));
    if (hadFocus && focusedBuilding) tiles.querySelector<HTMLElement>(`[data-building="${CSS.escape(focusedBuilding)}"]`)?.focus();
  }

  function renderBins() {
    if (!data) {
      replace(bins);
      return;
    }
    if (!data.bins.length) {
      replace(bins, h('p', { class: 'muted' }, t('overview.noBins')));
      return;
    }
    const sorted = [...data.bins].sort((a, b) => (b.fill ?? -1) - (a.fill ?? -1));
    replace(bins, h('ul', { class: 'bin-list' }, sorted.map((bin) => {
      const name = bin.name ?? ctx.devices.get(bin.id)?.name ?? bin.id;
      const fill = bin.fill === null ? t('overview.noData') : `${formatNumber(bin.fill, 0)}%`;
      const level = bin.fill === null ? 'none' : bin.fill >= 90 ? 'full' : bin.fill >= 75 ? 'high' : 'ok';
      return h('li', { class: `bin cat-${bin.category ?? 'none'} level-${level}`, 'data-bin': bin.id },
        h('a', { href: `#/devices/${encodeURIComponent(bin.id)}`, class: 'bin-name', 'aria-label': t('overview.binLabel', { name, category: categoryLabel(bin.category), fill }) }, name),
        h('span', { class: `cat-tag cat-${bin.category ?? 'none'}` }, categoryLabel(bin.category)),
        h('span', { class: 'bar', 'aria-hidden': 'true' }, h('span', { class: 'bar-fill', style: `width:${Math.max(0, Math.min(100, bin.fill ?? 0))}%` })),
        h('span', { class: 'bin-fill' }, fill),
        bin.online !== 'online' ? h('span', { class: `presence presence-${bin.online}` }, t(`presence.${bin.online}`)) : null);
    })));
  }

  function renderAll() {
    renderKpis();
    renderTiles();
    renderBins();
    replace(updated, data ? t('common.updated', { time: formatTime(data.generatedAt, ctx.site.timezone) }) : '');
  }

  async function fetchOverview() {
    if (inFlight) {
      again = true;
      return;
    }
    inFlight = true;
    try {
      data = await ctx.api.get<Overview>(`/api/sites/${encodeURIComponent(ctx.site.id)}/overview`);
      error = undefined;
    } catch (err) {
      error = (err as Error).message;
    } finally {
      inFlight = false;
    }
    if (!stopped) renderAll();
    if (again && !stopped) {
      again = false;
      void fetchOverview();
    }
  }

  /** Paints a raise or escalation on its building's tile now; the re-fetch brings exact counts. */
  function paintEvent(e: AlarmEvent) {
    if (!data || !paintAlarmEvent(data, ctx.site.id, e)) return;
    renderTiles();
    renderKpis();
  }

  let stopped = false;
  const refetch = debounced(() => void fetchOverview(), DEBOUNCE_MS);
  const unsubscribe = ctx.alarms.subscribe((e) => {
    if (e && (e.type === 'raised' || e.type === 'escalated' || (e.type === 'updated' && e.previousSeverity))) paintEvent(e);
    // Any change re-reads the overview (debounced): an event, or the alarm list reloaded after the
    // stream reconnected (what happened while it was down arrives that way, with no event).
    refetch.run();
  });
  const slow = window.setInterval(() => void fetchOverview(), SLOW_REFRESH_MS);

  renderAll();
  void fetchOverview();

  return () => {
    stopped = true;
    unsubscribe();
    feed.destroy();
    window.clearInterval(slow);
    refetch.cancel();
  };
}
