/// <reference lib="dom" />
import { h, replace } from '../dom.js';
import { statusLabel, typeLabel } from '../format.js';
import { t } from '../i18n/index.js';
import { buildingName, can, type Ctx } from '../store.js';
import { isActive, type Alarm } from '../types.js';
import { describeAlarm, originatorText, runAction, severityBadge, timeText } from './alarm-common.js';

/**
 * The live alarm feed: active alarms, most severe and newest first, each with its severity in text
 * and shape, type, building, device, time, status and assignee, and the actions the role allows
 * as real buttons. Re-rendered from the store on every change; the focused control is found again
 * by its `data-focus` key so keyboard users keep their place while events arrive.
 */

export interface FeedOptions {
  building?: string;
  includeCleared?: boolean;
  device?: string;
  selected?: string;
  /** Where "Details" goes. */
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

  const row = (a: Alarm): HTMLElement => {
    const alarmText = describeAlarm(ctx, a);
    const active = isActive(a.status);
    const unacked = a.status === 'active_unack' || a.status === 'cleared_unack';
    const actions: HTMLElement[] = [];
    if (unacked && can(ctx.session.role, 'ack')) {
      actions.push(h('button', { type: 'button', class: 'btn primary', 'data-action': 'ack', 'data-focus': `ack:${a.id}`, 'aria-label': t('action.ackLabel', { alarm: alarmText }), onclick: () => void runAction(ctx, a, 'ack') }, t('action.ack')));
    }
    if (active && can(ctx.session.role, 'clear')) {
      actions.push(h('button', { type: 'button', class: 'btn', 'data-action': 'clear', 'data-focus': `clear:${a.id}`, 'aria-label': t('action.clearLabel', { alarm: alarmText }), onclick: () => void runAction(ctx, a, 'clear') }, t('action.clear')));
    }
    actions.push(h('a', { class: 'btn link', href: opts.detailsHref(a.id), 'data-focus': `details:${a.id}`, 'aria-label': t('action.detailsLabel', { alarm: alarmText }) }, t('action.details')));
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
          a.assignee ? h('span', { class: 'assignee' }, ` · ${t('feed.assignee', { name: a.assignee })}`) : null,
          a.escalationLevel > 0 ? h('span', { class: 'escalated' }, ` · ${t('feed.escalated', { level: a.escalationLevel })}`) : null)),
      h('div', { class: 'actions' }, actions),
    );
  };

  const render = () => {
    const focused = document.activeElement as HTMLElement | null;
    const focusKey = focused && list.contains(focused) ? focused.dataset.focus : undefined;
    const alarms = ctx.alarms.list(opts);
    replace(summary,
      opts.building ? `${t('feed.filtered', { building: buildingName(ctx, opts.building) })} · ` : '',
      // An empty list says so itself ("No active alarms"); a count of 0 beside it would say it twice.
      alarms.length ? t('feed.count', { count: alarms.length }) : '',
      can(ctx.session.role, 'ack') ? '' : `${alarms.length ? ' · ' : ''}${t('feed.readOnly')}`);
    replace(list, alarms.length ? alarms.map(row) : h('li', { class: 'empty muted' }, t('feed.empty')));
    if (focusKey) {
      const again = list.querySelector<HTMLElement>(`[data-focus="${CSS.escape(focusKey)}"]`);
      const id = focusKey.slice(focusKey.indexOf(':') + 1);
      (again ?? list.querySelector<HTMLElement>(`[data-focus="${CSS.escape(`row:${id}`)}"]`))?.focus();
    }
  };

  const unsubscribe = ctx.alarms.subscribe(render);
  render();
  return {
    el,
    update(next) {
      opts = { ...opts, ...next };
      render();
    },
    destroy: unsubscribe,
  };
}
