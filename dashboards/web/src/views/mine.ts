/// <reference lib="dom" />
import { ApiError } from '../api.js';
import { debounced, h, replace, uid } from '../dom.js';
import { formatTime, hazardLabel, levelLabel, statusLabel } from '../format.js';
import { lang, t } from '../i18n/index.js';
import { accountOf, byUrgency, can, roleAt, type Ctx } from '../store.js';
import { isActive, type Incident, type Page } from '../types.js';
import { describeIncident, refusalText, runIncidentAction, severityBadge } from './alarm-common.js';
import { incidentDetail } from './incident.js';

/**
 * `#/mine[/<id>]` 我的事件: the incidents assigned to the person signed in (`GET /api/incidents?
 * assignee=me`), at every site they serve — by the duty roster or by hand — most urgent first, each
 * with acknowledge and clear as their role at its site allows, and the selected one's detail panel
 * (timeline, assign, comment). It follows every site's incident stream: an incident assigned to them,
 * or one of theirs changing, re-reads the list. An API token is no person: it is told so (the API
 * would answer 422 `no_account`), and the navigation does not offer the view to it.
 */

let showCleared = false;

export function mineView(root: HTMLElement, ctx: Ctx, selectedId?: string): () => void {
  const me = accountOf(ctx.session);
  if (me === undefined) {
    replace(root, h('h1', { class: 'page-title' }, t('mine.title')), h('p', { class: 'muted', 'data-testid': 'mine-token' }, t('mine.tokenOnly')));
    return () => undefined;
  }
  let stopped = false;
  let items: Incident[] = [];
  const list = h('ol', { class: 'feed mine', 'aria-label': t('mine.title'), 'aria-busy': 'true' });
  const summary = h('p', { class: 'feed-summary muted' });
  const showId = uid('show');
  const filters = h('div', { class: 'filters' },
    h('label', { for: showId }, t('feed.show')),
    h('select', { id: showId, onchange: (e: Event) => { showCleared = (e.target as HTMLSelectElement).value === 'all'; void load(); } },
      h('option', { value: 'active', selected: !showCleared }, t('mine.showActive')),
      h('option', { value: 'all', selected: showCleared }, t('mine.showAll'))));
  const detail = h('section', { class: 'panel detail' });
  replace(root,
    h('h1', { class: 'page-title' }, t('mine.title')),
    h('p', { class: 'muted' }, t('mine.help')),
    h('div', { class: 'alarms-grid' },
      h('section', { class: 'panel feed-panel', 'aria-labelledby': 'mine-h' }, h('h2', { id: 'mine-h' }, t('mine.title')), filters, summary, list),
      detail));

  const siteName = (site: string) => ctx.sites.find((s) => s.id === site)?.name ?? site;
  const timeZone = (site: string) => ctx.sites.find((s) => s.id === site)?.timezone ?? ctx.site.timezone;

  const row = (i: Incident): HTMLElement => {
    const text = describeIncident(ctx, i);
    const role = roleAt(ctx.session, i.site);
    const unacked = i.status === 'active_unack' || i.status === 'cleared_unack';
    const actions: HTMLElement[] = [];
    const act = async (action: 'ack' | 'clear') => {
      if (await runIncidentAction(ctx, i, action)) await load();
    };
    if (unacked && can(role, 'ack')) {
      actions.push(h('button', { type: 'button', class: 'btn primary', 'data-action': 'ack', 'data-focus': `iack:${i.id}`, 'aria-label': t('incident.ackLabel', { incident: text }), onclick: () => void act('ack') }, t('action.ack')));
    }
    if (isActive(i.status) && can(role, 'clear')) {
      actions.push(h('button', { type: 'button', class: 'btn', 'data-action': 'clear', 'data-focus': `iclear:${i.id}`, 'aria-label': t('incident.clearLabel', { incident: text }), onclick: () => void act('clear') }, t('action.clear')));
    }
    return h('li', {
      class: `incident sev-${i.severity} level-${i.level} status-${i.status}${i.id === selectedId ? ' selected' : ''}`,
      'data-incident-id': i.id, 'data-site': i.site, 'data-severity': i.severity, 'data-status': i.status, 'data-level': i.level, 'data-hazard': i.hazard,
      tabindex: '-1', 'data-focus': `irow:${i.id}`,
    },
    severityBadge(i.severity),
    h('div', { class: 'alarm-main' },
      h('div', { class: 'alarm-title' },
        h('span', { class: `level level-${i.level}` }, levelLabel(i.level)), ' ',
        h('strong', { class: 'incident-title' }, `${siteName(i.site)} · ${hazardLabel(i.hazard)}`)),
      i.summary ? h('div', { class: 'alarm-where' }, i.summary) : null,
      h('div', { class: 'alarm-meta' },
        h('span', { class: 'sr-only' }, `${t('feed.started')}: `), h('time', { datetime: i.startTime }, formatTime(i.startTime, timeZone(i.site))), ' · ',
        h('span', { class: `status status-${i.status}`, 'data-status-text': i.status }, statusLabel(i.status)),
        i.escalationLevel > 0 ? h('span', { class: 'escalated' }, ` · ${t('feed.escalated', { level: i.escalationLevel })}`) : null)),
    h('div', { class: 'actions' }, actions,
      h('a', { class: 'btn link', href: `#/mine/${encodeURIComponent(i.id)}`, 'data-focus': `idetails:${i.id}`, 'aria-label': t('incident.detailsLabel', { incident: text }) }, t('action.details'))));
  };

  const render = () => {
    // Keyboard users keep their place while the list is re-read (as in the feed).
    const focused = document.activeElement as HTMLElement | null;
    const focusKey = focused && list.contains(focused) ? focused.dataset.focus : undefined;
    replace(summary, items.length ? t('feed.incidentCount', { count: items.length }) : '');
    replace(list, items.length ? items.map(row) : h('li', { class: 'empty muted', 'data-testid': 'mine-empty' }, t('mine.empty')));
    list.setAttribute('aria-busy', 'false');
    if (focusKey) {
      const id = focusKey.slice(focusKey.indexOf(':') + 1);
      (list.querySelector<HTMLElement>(`[data-focus="${CSS.escape(focusKey)}"]`) ?? list.querySelector<HTMLElement>(`[data-focus="${CSS.escape(`irow:${id}`)}"]`))?.focus();
    }
  };

  let generation = 0;
  async function load(): Promise<void> {
    const mine = ++generation;
    const ask = (status: string, limit: number) => ctx.api.get<Page<Incident>>('/api/incidents', { assignee: 'me', status, limit, lang: lang() });
    try {
      const pages = await Promise.all([ask('active_unack,active_ack', 500), ...(showCleared ? [ask('cleared_unack,cleared_ack', 50)] : [])]);
      if (stopped || mine !== generation) return;
      items = pages.flatMap((p) => p.items).sort(byUrgency);
      render();
    } catch (err) {
      if (stopped || mine !== generation) return;
      const message = err instanceof ApiError ? refusalText(ctx, err) : (err as Error).message;
      replace(list, h('li', { class: 'error', role: 'alert' }, t('common.error', { message })));
    }
  }

  const reload = debounced(() => void load(), 250);
  const unsubscribe = ctx.incidentEvents.subscribe((e) => {
    // Assigned to me now, or one of mine changed (acknowledged elsewhere, handed on, cleared).
    if (e.incident.assignee === me || items.some((i) => i.id === e.incident.id)) reload.run();
  });
  const stopDetail = incidentDetail(detail, ctx, selectedId, { onChanged: () => void load() });
  void load();
  return () => {
    stopped = true;
    unsubscribe();
    stopDetail();
    reload.cancel();
  };
}
