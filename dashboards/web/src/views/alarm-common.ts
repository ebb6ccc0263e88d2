/// <reference lib="dom" />
import { ApiError } from '../api.js';
import { h } from '../dom.js';
import { formatTime, roleLabel, severityIcon, severityLabel, typeLabel } from '../format.js';
import { t } from '../i18n/index.js';
import { buildingName, deviceName, type Ctx } from '../store.js';
import type { Alarm, AlarmWithTimeline, Severity } from '../types.js';

/** Pieces shared by the alarm feed and the alarm detail panel. */

/** A severity badge: icon shape + text, colour only as a third cue. */
export function severityBadge(s: Severity | null, extra?: string): HTMLElement {
  if (s === null) return h('span', { class: 'badge sev-none', 'data-severity': 'none' }, h('span', { class: 'icon', 'aria-hidden': 'true' }, '✓'), ' ', t('sev.none'));
  return h('span', { class: `badge sev-${s}`, 'data-severity': s }, h('span', { class: 'icon', 'aria-hidden': 'true' }, severityIcon[s]), ' ', severityLabel(s), extra ? ` ${extra}` : '');
}

export function originatorText(ctx: Ctx, a: Alarm): string {
  return a.originator.kind === 'device' ? deviceName(ctx, a.originator.id) : buildingName(ctx, a.originator.id);
}

/** The alarm in words, for aria-labels and announcements. */
export function describeAlarm(ctx: Ctx, a: Alarm): string {
  return t('alarm.describe', { severity: severityLabel(a.severity), type: typeLabel(a.type), building: buildingName(ctx, a.building), device: originatorText(ctx, a) });
}

export function timeText(ctx: Ctx, iso: string): HTMLElement {
  return h('time', { datetime: iso }, formatTime(iso, ctx.site.timezone));
}

export type Action = 'ack' | 'clear' | 'assign' | 'comment';

/**
 * Runs a lifecycle action, puts the answer in the store (the SSE event follows and changes
 * nothing more) and reports the outcome politely; a 403 says which role is missing.
 */
export async function runAction(ctx: Ctx, alarm: Alarm, action: Action, body?: Record<string, string>): Promise<boolean> {
  try {
    const updated = await ctx.api.post<AlarmWithTimeline>(`/api/alerts/${encodeURIComponent(alarm.id)}/${action}`, body);
    ctx.alarms.upsert(updated);
    ctx.status(t(`action.done.${action}`));
    return true;
  } catch (err) {
    const message = err instanceof ApiError && err.status === 403 ? t('common.forbidden', { role: roleLabel(ctx.session.role) }) : (err as Error).message;
    ctx.status(t('action.failed', { message }));
    return false;
  }
}
