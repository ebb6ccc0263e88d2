/// <reference lib="dom" />
import { h, replace } from '../dom.js';
import { hazardLabel, levelLabel, statusLabel, typeLabel } from '../format.js';
import { t } from '../i18n/index.js';
import { buildingName, can, type Ctx } from '../store.js';
import { isActive, type Alarm, type Incident, type IncidentMember } from '../types.js';
import { describeAlarm, describeIncident, evidenceOf, originatorText, runAction, runIncidentAction, severityBadge, timeText } from './alarm-common.js';
import { proposalList } from './proposals.js';

/**
 * The live feed. By default it leads with incidents — one per building and hazard: one fire, one
 * leak — most urgent first (火警 before 预警, then severity, then newest), each with its level,
 * place, status and the actions the role allows (acknowledge / clear act on the incident and all
 * its alarms), and its alarms folded under it with their evidence. Alarms that are in no listed
 * incident follow. With `device`, it lists that device's alarms instead (the device page).
 * Re-rendered from the stores on every change; the focused control is found again by its
 * `data-focus` key, and open folds stay open, so keyboard users keep their place while events arrive.
 */

export interface FeedOptions {
  building?: string;
  includeCleared?: boolean;
  device?: string;
  selected?: string;
  /** Where "Details" of an alarm goes. */
  detailsHref(id: string): string;
}

export interface Feed {
  readonly el: HTMLElement;
  update(opts: Partial<FeedOptions>): void;
  destroy(): void;
}

export function createFeed(ctx: Ctx, initial: FeedOptions): Feed {
  let opts = { ...initial };
  const list = h('ol', { class: 'feed', 'aria-label': t('feed.title') });
  const summary = h('p', { class: 'feed-summary muted' });
  const el = h('div', { class: 'feed-wrap' }, summary, list);
  /** Incidents whose fold the user opened. */
  const open = new Set<string>();

  const alarmActions = (a: Alarm): HTMLElement[] => {
    const alarmText = describeAlarm(ctx, a);
    const actions: HTMLElement[] = [];
    const unacked = a.status === 'active_unack' || a.status === 'cleared_unack';
    if (unacked && can(ctx.session.role, 'ack')) {
      actions.push(h('button', { type: 'button', class: 'btn primary', 'data-action': 'ack', 'data-focus': `ack:${a.id}`, 'aria-label': t('action.ackLabel', { alarm: alarmText }), onclick: () => void runAction(ctx, a, 'ack') }, t('action.ack')));
    }
    if (isActive(a.status) && can(ctx.session.role, 'clear')) {
      actions.push(h('button', { type: 'button', class: 'btn', 'data-action': 'clear', 'data-focus': `clear:${a.id}`, 'aria-label': t('action.clearLabel', { alarm: alarmText }), onclick: () => void runAction(ctx, a, 'clear') }, t('action.clear')));
    }
    return actions;
  };

  /** An alarm on its own (device page, or outside any incident): its own actions. */
  const alarmRow = (a: Alarm): HTMLElement => {
    const alarmText = describeAlarm(ctx, a);
    const origin = a.originator.kind === 'device'
      ? h('a', { href: `#/devices/${encodeURIComponent(a.originator.id)}`, class: 'device-link' }, originatorText(ctx, a))
      : h('span', null, originatorText(ctx, a));
    return h(
      'li',
      {
        class: `alarm sev-${a.severity} status-${a.status}${opts.selected === a.id ? ' selected' : ''}`,
        'data-alarm-id': a.id, 'data-severity': a.severity, 'data-status': a.status, 'data-building': a.building, 'data-type': a.type,
        tabindex: '-1',
        'data-focus': `row:${a.id}`,
      },
      severityBadge(a.severity),
      h('div', { class: 'alarm-main' },
        h('div', { class: 'alarm-title' }, h('strong', { class: 'alarm-type' }, typeLabel(a.type)), a.count > 1 ? h('span', { class: 'muted' }, ` ${t('feed.repeats', { count: a.count })}`) : null),
        h('div', { class: 'alarm-where' }, h('span', { class: 'sr-only' }, `${t('feed.building')}: `), buildingName(ctx, a.building), ' · ', h('span', { class: 'sr-only' }, `${t('feed.device')}: `), origin),
        h('div', { class: 'alarm-meta' },
          h('span', { class: 'sr-only' }, `${t('feed.started')}: `), timeText(ctx, a.startTime), ' · ',
          h('span', { class: `status status-${a.status}`, 'data-status-text': a.status }, statusLabel(a.status)),
          a.assignee ? h('span', { class: 'assignee' }, ` · ${t('feed.assignee', { name: ctx.people.name(a.assignee) })}`) : null,
          a.escalationLevel > 0 ? h('span', { class: 'escalated' }, ` · ${t('feed.escalated', { level: a.escalationLevel })}`) : null)),
      h('div', { class: 'actions' },
        alarmActions(a),
        h('a', { class: 'btn link', href: opts.detailsHref(a.id), 'data-focus': `details:${a.id}`, 'aria-label': t('action.detailsLabel', { alarm: alarmText }) }, t('action.details'))),
    );
  };

  /** An alarm folded under its incident: what it is, where, its evidence; acting is on the incident. */
  const memberRow = (i: Incident, m: IncidentMember): HTMLElement => {
    const a = ctx.alarms.get(m.id);
    const status = a?.status ?? m.status;
    const asAlarm = { ...m, site: i.site, building: i.building, count: a?.count ?? 1 } as unknown as Alarm;
    const where = m.originator.kind === 'device'
      ? h('a', { href: `#/devices/${encodeURIComponent(m.originator.id)}`, class: 'device-link' }, originatorText(ctx, asAlarm))
      : h('span', null, originatorText(ctx, asAlarm));
    return h('li', {
      class: `member sev-${m.severity} status-${status}${opts.selected === m.id ? ' selected' : ''}`,
      'data-alarm-id': m.id, 'data-severity': m.severity, 'data-status': status, 'data-type': m.type, 'data-focus': `row:${m.id}`, tabindex: '-1',
    },
    severityBadge(m.severity),
    h('div', { class: 'alarm-main' },
      h('div', { class: 'alarm-title' }, h('strong', { class: 'alarm-type' }, typeLabel(m.type)), ' · ', where),
      h('div', { class: 'alarm-meta' }, timeText(ctx, m.startTime), ' · ', h('span', { class: `status status-${status}` }, statusLabel(status))),
      h('ul', { class: 'evidence' }, evidenceOf(ctx, m).slice(0, 4).map((line) => h('li', null, line)))),
    h('div', { class: 'actions' },
      h('a', { class: 'btn link', href: opts.detailsHref(m.id), 'data-focus': `details:${m.id}`, 'aria-label': t('action.detailsLabel', { alarm: describeAlarm(ctx, asAlarm) }) }, t('action.details'))));
  };

  const incidentRow = (i: Incident): HTMLElement => {
    const text = describeIncident(ctx, i);
    const unacked = i.status === 'active_unack' || i.status === 'cleared_unack';
    const actions: HTMLElement[] = [];
    if (unacked && can(ctx.session.role, 'ack')) {
      actions.push(h('button', { type: 'button', class: 'btn primary', 'data-action': 'ack', 'data-focus': `iack:${i.id}`, 'aria-label': t('incident.ackLabel', { incident: text }), onclick: () => void runIncidentAction(ctx, i, 'ack') }, t('action.ack')));
    }
    if (isActive(i.status) && can(ctx.session.role, 'clear')) {
      actions.push(h('button', { type: 'button', class: 'btn', 'data-action': 'clear', 'data-focus': `iclear:${i.id}`, 'aria-label': t('incident.clearLabel', { incident: text }), onclick: () => void runIncidentAction(ctx, i, 'clear') }, t('action.clear')));
    }
    const devices = new Set(i.alarms.filter((m) => m.originator.kind === 'device').map((m) => m.originator.id)).size;
    const allClear = i.alarms.every((m) => !isActive(m.status));
    const fold = h('details', {
      class: 'incident-alarms', 'data-fold': i.id, open: open.has(i.id) || i.alarms.some((m) => m.id === opts.selected),
      ontoggle: (e: Event) => { if ((e.target as HTMLDetailsElement).open) open.add(i.id); else open.delete(i.id); },
    },
    h('summary', { 'data-focus': `fold:${i.id}` }, t('incident.fold', { count: i.alarms.length })),
    h('ol', { class: 'members' }, i.alarms.map((m) => memberRow(i, m))));
    return h('li', {
      class: `incident sev-${i.severity} level-${i.level} status-${i.status}`,
      'data-incident-id': i.id, 'data-severity': i.severity, 'data-status': i.status, 'data-building': i.building, 'data-hazard': i.hazard, 'data-level': i.level,
      tabindex: '-1', 'data-focus': `irow:${i.id}`,
    },
    severityBadge(i.severity),
    h('div', { class: 'alarm-main' },
      h('div', { class: 'alarm-title' },
        h('span', { class: `level level-${i.level}`, 'data-level-text': i.level }, levelLabel(i.level)), ' ',
        h('strong', { class: 'incident-title' }, `${buildingName(ctx, i.building)} ${hazardLabel(i.hazard)}`)),
      h('div', { class: 'alarm-where' }, t('incident.devices', { count: devices }), ' · ', t('incident.alarms', { count: i.alarms.length }),
        allClear && isActive(i.status) ? h('span', { class: 'muted' }, ` · ${i.level === 'fire' ? t('incident.latched') : t('incident.quiet')}`) : null),
      h('div', { class: 'alarm-meta' },
        h('span', { class: 'sr-only' }, `${t('feed.started')}: `), timeText(ctx, i.startTime), ' · ',
        h('span', { class: `status status-${i.status}`, 'data-status-text': i.status }, statusLabel(i.status)),
        i.assignee ? h('span', { class: 'assignee', 'data-assignee': i.assignee }, ` · ${t('feed.assignee', { name: ctx.people.name(i.assignee) })}`) : null,
        i.escalationLevel > 0 ? h('span', { class: 'escalated' }, ` · ${t('feed.escalated', { level: i.escalationLevel })}`) : null),
      proposalList(ctx, i),
      fold),
    h('div', { class: 'actions' }, actions,
      h('a', { class: 'btn link', href: `#/incidents/${encodeURIComponent(i.id)}`, 'data-focus': `idetails:${i.id}`, 'aria-label': t('incident.detailsLabel', { incident: text }) },
        t('action.details'))));
  };

  const render = () => {
    // A click opens a <details> at once but its toggle event is queued: a render in between would
    // rebuild the fold closed under the user's pointer. Take the folds' state from the page first.
    for (const d of list.querySelectorAll<HTMLDetailsElement>('details[data-fold]')) {
      const id = d.dataset.fold as string;
      if (d.open) open.add(id); else open.delete(id);
    }
    const focused = document.activeElement as HTMLElement | null;
    const focusKey = focused && list.contains(focused) ? focused.dataset.focus : undefined;
    const readOnly = can(ctx.session.role, 'ack') ? '' : t('feed.readOnly');
    const filter = { ...(opts.building ? { building: opts.building } : {}), ...(opts.includeCleared ? { includeCleared: true } : {}) };
    if (opts.device) {
      const alarms = ctx.alarms.list({ ...filter, device: opts.device });
      replace(summary, alarms.length ? t('feed.count', { count: alarms.length }) : '', readOnly ? `${alarms.length ? ' · ' : ''}${readOnly}` : '');
      replace(list, alarms.length ? alarms.map(alarmRow) : h('li', { class: 'empty muted' }, t('feed.empty')));
    } else {
      const incidents = ctx.incidents.list(filter);
      const listed = new Set(incidents.flatMap((i) => i.alarmIds));
      const loose = ctx.alarms.list(filter).filter((a) => !listed.has(a.id) && isActive(a.status));
      const parts = [
        opts.building ? t('feed.filtered', { building: buildingName(ctx, opts.building) }) : '',
        incidents.length ? t('feed.incidentCount', { count: incidents.length }) : '',
        loose.length ? t('feed.count', { count: loose.length }) : '',
        readOnly,
      ].filter(Boolean);
      replace(summary, parts.join(' · '));
      const rows: HTMLElement[] = incidents.map(incidentRow);
      if (loose.length) rows.push(h('li', { class: 'feed-heading muted' }, t('feed.loose')), ...loose.map(alarmRow));
      replace(list, rows.length ? rows : h('li', { class: 'empty muted' }, t('feed.empty')));
    }
    if (focusKey) {
      const again = list.querySelector<HTMLElement>(`[data-focus="${CSS.escape(focusKey)}"]`);
      const id = focusKey.slice(focusKey.indexOf(':') + 1);
      (again ?? list.querySelector<HTMLElement>(`[data-focus="${CSS.escape(`row:${id}`)}"], [data-focus="${CSS.escape(`irow:${id}`)}"]`))?.focus();
    }
  };

  const offAlarms = ctx.alarms.subscribe(render);
  const offIncidents = ctx.incidents.subscribe(render);
  render();
  return {
    el,
    update(next) {
      opts = { ...opts, ...next };
      render();
    },
    destroy() {
      offAlarms();
      offIncidents();
    },
  };
}
