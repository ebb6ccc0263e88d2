/// <reference lib="dom" />
import { alarmEvidence, incidentTitle, type TextOptions } from '../../../../core/alarm-text.js';
import { ApiError } from '../api.js';
import { h } from '../dom.js';
import { formatTime, roleLabel, severityIcon, severityLabel, typeLabel } from '../format.js';
import { lang, t } from '../i18n/index.js';
import { buildingName, deviceName, type Ctx } from '../store.js';
import type { Alarm, AlarmWithTimeline, Incident, Severity } from '../types.js';

/** Pieces shared by the feed (incidents and alarms) and the alarm detail panel. */

/** What core/alarm-text needs to speak: the UI's language, the site's names and time zone. */
export function textOptions(ctx: Ctx): TextOptions {
  return {
    lang: lang(),
    timeZone: ctx.site.timezone,
    names: {
      device: (id) => {
        const d = ctx.devices.get(id);
        return d ? { name: d.name, ...(d.location ? { location: d.location } : {}) } : undefined;
      },
      building: (_site, id) => ctx.buildings.get(id)?.name,
      site: () => ctx.site.name,
    },
  };
}

/** An alarm's evidence lines (values with units, devices by name), in the UI's language. */
export function evidenceOf(ctx: Ctx, a: Pick<Alarm, 'type' | 'details'>): string[] {
  return alarmEvidence(a, textOptions(ctx));
}

/** The incident in words, for aria-labels. */
export function describeIncident(ctx: Ctx, i: Incident): string {
  return `${severityLabel(i.severity)} ${incidentTitle(i, textOptions(ctx))}`;
}

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

/** Posts an action and reports the outcome politely; a 403 says which role is missing. */
async function post<T>(ctx: Ctx, path: string, action: Action, body: Record<string, string> | undefined, keep: (answer: T) => void): Promise<boolean> {
  try {
    keep(await ctx.api.post<T>(path, body));
    ctx.status(t(`action.done.${action}`));
    return true;
  } catch (err) {
    const message = err instanceof ApiError && err.status === 403 ? t('common.forbidden', { role: roleLabel(ctx.session.role) }) : (err as Error).message;
    ctx.status(t('action.failed', { message }));
    return false;
  }
}

/** Runs an action on an incident (and so on its alarms) and puts the answer in the store. */
export function runIncidentAction(ctx: Ctx, incident: Incident, action: 'ack' | 'clear'): Promise<boolean> {
  return post<Incident>(ctx, `/api/incidents/${encodeURIComponent(incident.id)}/${action}`, action, undefined, (i) => ctx.incidents.upsert(i));
}

/** Runs a lifecycle action on an alarm and puts the answer in the store (the SSE event follows and changes nothing more). */
export function runAction(ctx: Ctx, alarm: Alarm, action: Action, body?: Record<string, string>): Promise<boolean> {
  return post<AlarmWithTimeline>(ctx, `/api/alerts/${encodeURIComponent(alarm.id)}/${action}`, action, body, (a) => ctx.alarms.upsert(a));
}
