/// <reference lib="dom" />
import { ApiError } from '../api.js';
import { debounced, h, replace } from '../dom.js';
import { formatTime, hazardLabel, levelLabel, statusLabel } from '../format.js';
import { lang, t } from '../i18n/index.js';
import { buildingName, can, roleAt, type Ctx } from '../store.js';
import { isActive, type Incident, type IncidentWithTimeline } from '../types.js';
import { describeIncident, runIncidentAction, severityBadge, textForm, timelineList, type Action } from './alarm-common.js';
import { assignForm } from './assign.js';
import { proposalList } from './proposals.js';

/**
 * One incident: what and where (the server's summary and evidence, in the UI's language, so an
 * incident of another of the person's sites reads as well as the current site's), its timeline, and
 * what the caller's role at *its* site allows — acknowledge and clear (it and its alarms), assign
 * (a picker of the site's people, views/assign.ts), comment. `#/incidents/<id>` on its own (the feed's
 * "details"), and the detail panel of My incidents. Live: it reloads when an event about it arrives.
 */

export interface IncidentDetailOptions {
  /** After an action went through (My incidents re-reads its list). */
  onChanged?(): void;
}

export function incidentDetail(panel: HTMLElement, ctx: Ctx, id: string | undefined, opts: IncidentDetailOptions = {}): () => void {
  let stopped = false;
  let full: IncidentWithTimeline | undefined;
  const body = h('div', { class: 'detail-body' });
  const forms = h('div', { class: 'detail-forms' });
  replace(panel, h('h2', { id: 'incident-h' }, t('incident.title')), body, forms);
  panel.setAttribute('aria-labelledby', 'incident-h');

  const load = async () => {
    if (!id) {
      replace(body, h('p', { class: 'muted' }, t('incident.none')));
      replace(forms);
      return;
    }
    try {
      full = await ctx.api.get<IncidentWithTimeline>(`/api/incidents/${encodeURIComponent(id)}`, { lang: lang() });
      // The names of its site's people (asked once per site): the assignee and the timeline show them.
      await ctx.people.of(full.site).catch(() => undefined);
      if (!stopped) render(full);
    } catch (err) {
      if (stopped) return;
      const msg = err instanceof ApiError && err.status === 404 ? t('common.notFound', { message: id }) : t('common.error', { message: (err as Error).message });
      replace(body, h('p', { class: 'error', role: 'alert' }, msg));
      replace(forms);
    }
  };

  const act = async (i: Incident, action: Action, payload?: Record<string, string>) => {
    const ok = await runIncidentAction(ctx, i, action, payload);
    if (ok && !stopped) {
      await load();
      opts.onChanged?.();
    }
    return ok;
  };

  function render(i: IncidentWithTimeline) {
    const site = ctx.sites.find((s) => s.id === i.site);
    const here = i.site === ctx.site.id;
    const tz = site?.timezone ?? ctx.site.timezone;
    const when = (iso: string) => h('time', { datetime: iso }, formatTime(iso, tz));
    replace(body,
      h('div', { class: `detail-head sev-${i.severity}`, 'data-incident-id': i.id, 'data-status': i.status, 'data-level': i.level },
        severityBadge(i.severity), ' ', h('span', { class: `level level-${i.level}` }, levelLabel(i.level)), ' ',
        h('strong', null, here ? `${buildingName(ctx, i.building)} ${hazardLabel(i.hazard)}` : hazardLabel(i.hazard)), ' · ',
        h('span', { class: `status status-${i.status}`, 'data-status-text': i.status }, statusLabel(i.status))),
      i.summary ? h('p', { class: 'incident-summary' }, i.summary) : null,
      h('dl', { class: 'facts' },
        h('dt', null, t('site.label')), h('dd', null, site?.name ?? i.site),
        h('dt', null, t('feed.building')), h('dd', null, here ? buildingName(ctx, i.building) : i.building),
        h('dt', null, t('feed.started')), h('dd', null, when(i.startTime)),
        i.assignee ? [h('dt', null, t('action.assignee')), h('dd', { 'data-testid': 'incident-assignee', 'data-assignee': i.assignee }, ctx.people.name(i.assignee))] : null,
        i.escalationLevel > 0 ? [h('dt', null, t('incident.escalation')), h('dd', null, t('feed.escalated', { level: i.escalationLevel }))] : null),
      i.evidence?.length ? [h('h3', null, t('detail.values')), h('ul', { class: 'evidence' }, i.evidence.map((line) => h('li', null, line)))] : null,
      // Proposals name devices by the current site's registry; another site's are on its own feed.
      here ? proposalList(ctx, i) : null,
      h('h3', null, t('detail.timeline')),
      timelineList(ctx, i.timeline, tz));

    // Rebuilt only when the allowed set changes, so a half-typed comment or a chosen person survives events.
    const key = `${i.id}:${i.status}`;
    if (forms.dataset.key === key) return;
    forms.dataset.key = key;
    const role = roleAt(ctx.session, i.site);
    const text = describeIncident(ctx, i);
    const unacked = i.status === 'active_unack' || i.status === 'cleared_unack';
    const buttons: HTMLElement[] = [];
    if (unacked && can(role, 'ack')) {
      buttons.push(h('button', { type: 'button', class: 'btn primary', 'data-action': 'ack', 'aria-label': t('incident.ackLabel', { incident: text }), onclick: () => void act(i, 'ack') }, t('action.ack')));
    }
    if (isActive(i.status) && can(role, 'clear')) {
      buttons.push(h('button', { type: 'button', class: 'btn', 'data-action': 'clear', 'aria-label': t('incident.clearLabel', { incident: text }), onclick: () => void act(i, 'clear') }, t('action.clear')));
    }
    replace(forms,
      buttons.length ? h('div', { class: 'actions' }, buttons) : null,
      can(role, 'assign') && isActive(i.status) ? assignForm(ctx, i.site, i.assignee, (b) => act(i, 'assign', b)) : null,
      can(role, 'comment')
        ? textForm({ action: 'comment', label: t('incident.commentLabel'), submit: t('action.comment'), field: 'text', max: 4000, onSubmit: (c) => act(i, 'comment', { text: c }) })
        : null,
      can(role, 'ack') ? null : h('p', { class: 'muted' }, t('feed.readOnly')));
  }

  const reload = debounced(() => void load(), 200);
  const unsubscribe = ctx.incidentEvents.subscribe((e) => {
    if (e.incident.id === id) reload.run();
  });
  void load();
  return () => {
    stopped = true;
    unsubscribe();
    reload.cancel();
  };
}

/** `#/incidents/<id>`: the incident on its own page, with the way back to the alarms. */
export function incidentView(root: HTMLElement, ctx: Ctx, id: string | undefined): () => void {
  const panel = h('section', { class: 'panel detail incident-detail' });
  replace(root,
    h('h1', { class: 'page-title' }, t('incident.title')),
    h('p', null, h('a', { href: '#/alarms' }, '← ', t('incident.back'))),
    panel);
  return incidentDetail(panel, ctx, id);
}
