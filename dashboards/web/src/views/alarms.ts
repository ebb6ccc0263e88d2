/// <reference lib="dom" />
import { ApiError } from '../api.js';
import { debounced, h, replace, uid } from '../dom.js';
import { statusLabel, typeLabel } from '../format.js';
import { t } from '../i18n/index.js';
import { buildingName, can, type Ctx } from '../store.js';
import { isActive, type Alarm, type AlarmWithTimeline } from '../types.js';
import { describeAlarm, evidenceOf, originatorText, runAction, severityBadge, textForm, timeText, timelineList } from './alarm-common.js';
import { assignForm } from './assign.js';
import { createFeed } from './feed.js';

/**
 * `#/alarms[/<id>]`: the feed with filters, and the detail panel of the selected alarm with its
 * timeline, the assign picker (views/assign.ts) and the comment form (inline labelled inputs, no prompt()).
 */

let showCleared = false;
/** Per site: building ids are unique within their site only. */
const buildingSelBySite = new Map<string, string | undefined>();

export function alarmsView(root: HTMLElement, ctx: Ctx, selectedId?: string): () => void {
  let buildingSel = buildingSelBySite.get(ctx.site.id);
  const feed = createFeed(ctx, { building: buildingSel, includeCleared: showCleared, selected: selectedId, detailsHref: (id) => `#/alarms/${encodeURIComponent(id)}` });
  const showId = uid('show');
  const bldId = uid('bld');
  const filters = h('div', { class: 'filters' },
    h('label', { for: showId }, t('feed.show')),
    h('select', { id: showId, onchange: (e: Event) => { showCleared = (e.target as HTMLSelectElement).value === 'all'; feed.update({ includeCleared: showCleared }); } },
      h('option', { value: 'active', selected: !showCleared }, t('feed.showActive')),
      h('option', { value: 'all', selected: showCleared }, t('feed.showAll'))),
    h('label', { for: bldId }, t('feed.building')),
    h('select', { id: bldId, onchange: (e: Event) => { buildingSel = (e.target as HTMLSelectElement).value || undefined; buildingSelBySite.set(ctx.site.id, buildingSel); feed.update({ building: buildingSel }); } },
      h('option', { value: '' }, t('feed.allBuildings')),
      [...ctx.buildings.values()].map((b) => h('option', { value: b.id, selected: buildingSel === b.id }, b.name))));

  const detail = h('section', { class: 'panel detail', 'aria-labelledby': 'detail-h' });
  replace(root,
    h('h1', { class: 'page-title' }, t('nav.alarms'), ' · ', ctx.site.name),
    h('div', { class: 'alarms-grid' },
      h('section', { class: 'panel feed-panel', 'aria-labelledby': 'feed-h' }, h('h2', { id: 'feed-h' }, t('feed.title')), filters, feed.el),
      detail));

  let stopped = false;
  let full: AlarmWithTimeline | undefined;
  const body = h('div', { class: 'detail-body' });
  const forms = h('div', { class: 'detail-forms' });
  replace(detail, h('h2', { id: 'detail-h' }, t('detail.title')), body, forms);

  const load = async () => {
    if (!selectedId) {
      replace(body, h('p', { class: 'muted' }, t('detail.none')));
      return;
    }
    try {
      full = await ctx.api.get<AlarmWithTimeline>(`/api/alerts/${encodeURIComponent(selectedId)}`);
      if (!stopped) renderDetail();
    } catch (err) {
      if (stopped) return;
      const msg = err instanceof ApiError && err.status === 404 ? t('common.notFound', { message: selectedId }) : t('common.error', { message: (err as Error).message });
      replace(body, h('p', { class: 'error', role: 'alert' }, msg));
    }
  };

  function renderDetail() {
    if (!full) return;
    const a: Alarm = ctx.alarms.get(full.id) ?? full;
    const alarmText = describeAlarm(ctx, a);
    const evidence = evidenceOf(ctx, a);
    replace(body,
      h('div', { class: `detail-head sev-${a.severity}`, 'data-alarm-id': a.id, 'data-status': a.status },
        severityBadge(a.severity), ' ', h('strong', null, typeLabel(a.type)), ' · ', h('span', { class: `status status-${a.status}` }, statusLabel(a.status))),
      h('dl', { class: 'facts' },
        h('dt', null, t('feed.building')), h('dd', null, buildingName(ctx, a.building)),
        h('dt', null, t('feed.device')), h('dd', null, a.originator.kind === 'device' ? h('a', { href: `#/devices/${encodeURIComponent(a.originator.id)}` }, originatorText(ctx, a)) : originatorText(ctx, a)),
        h('dt', null, t('feed.started')), h('dd', null, timeText(ctx, a.startTime)),
        a.assignee ? [h('dt', null, t('action.assignee')), h('dd', null, ctx.people.name(a.assignee))] : null),
      evidence.length ? [h('h3', null, t('detail.values')), h('ul', { class: 'evidence' }, evidence.map((line) => h('li', null, line)))] : null,
      h('h3', null, t('detail.timeline')),
      timelineList(ctx, full.timeline, ctx.site.timezone));

    // Actions: rebuilt only when the allowed set changes, so a half-typed comment survives events.
    const key = `${a.id}:${a.status}`;
    if (forms.dataset.key === key) return;
    forms.dataset.key = key;
    const parts: HTMLElement[] = [];
    const role = ctx.session.role;
    const buttons: HTMLElement[] = [];
    if ((a.status === 'active_unack' || a.status === 'cleared_unack') && can(role, 'ack')) {
      buttons.push(h('button', { type: 'button', class: 'btn primary', 'aria-label': t('action.ackLabel', { alarm: alarmText }), onclick: () => void act('ack') }, t('action.ack')));
    }
    if (isActive(a.status) && can(role, 'clear')) {
      buttons.push(h('button', { type: 'button', class: 'btn', 'aria-label': t('action.clearLabel', { alarm: alarmText }), onclick: () => void act('clear') }, t('action.clear')));
    }
    if (buttons.length) parts.push(h('div', { class: 'actions' }, buttons));
    if (can(role, 'assign') && isActive(a.status)) parts.push(assignForm(ctx, a.site, a.assignee, (body) => act('assign', body)));
    if (can(role, 'comment')) {
      parts.push(textForm({ action: 'comment', label: t('action.commentText'), submit: t('action.comment'), field: 'text', max: 4000, onSubmit: (text) => act('comment', { text }) }));
    }
    if (!can(role, 'ack')) parts.push(h('p', { class: 'muted' }, t('feed.readOnly')));
    replace(forms, parts);
  }

  async function act(action: 'ack' | 'clear' | 'assign' | 'comment', payload?: Record<string, string>): Promise<boolean> {
    const a = full && (ctx.alarms.get(full.id) ?? full);
    if (!a) return false;
    const ok = await runAction(ctx, a, action, payload);
    if (ok) await load();
    return ok;
  }

  const reload = debounced(() => void load(), 200);
  const unsubscribe = ctx.alarms.subscribe((e) => {
    if (selectedId && e && e.alarm.id === selectedId) reload.run();
  });

  void load();
  return () => {
    stopped = true;
    unsubscribe();
    feed.destroy();
    reload.cancel();
  };
}
