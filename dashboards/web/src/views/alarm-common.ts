/// <reference lib="dom" />
import { alarmEvidence, incidentTitle, type TextOptions } from '../../../../core/alarm-text.js';
import { ApiError } from '../api.js';
import { h, uid } from '../dom.js';
import { formatTime, roleLabel, severityIcon, severityLabel, typeLabel } from '../format.js';
import { lang, t, tOr } from '../i18n/index.js';
import { buildingName, deviceName, type Ctx } from '../store.js';
import type { Alarm, AlarmWithTimeline, Incident, Role, Severity, TimelineEntry } from '../types.js';

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

/** A timeline, oldest first: when, what, who; an assignment names the person by display name. */
export function timelineList(ctx: Pick<Ctx, 'people'>, timeline: readonly TimelineEntry[], timeZone: string): HTMLElement {
  return h('ol', { class: 'timeline' }, timeline.map((e) => {
    const assignee = e.event === 'assigned' && typeof e.details?.assignee === 'string' ? e.details.assignee : undefined;
    return h('li', { 'data-event': e.event },
      h('time', { datetime: e.time }, formatTime(e.time, timeZone)), ' ',
      h('strong', null, tOr(`timeline.${e.event}`, e.event)),
      assignee ? ` ${t('incident.assignedTo', { name: ctx.people.name(assignee) })}` : '',
      e.actor ? ` · ${e.actor}` : '',
      e.text ? h('div', { class: 'timeline-text' }, e.text) : null);
  }));
}

export type Action = 'ack' | 'clear' | 'assign' | 'comment';

/** A refused action in the reader's language: a 403 names the role; a code the catalogue knows (`code.not_at_site`) its sentence; else the server's words. */
export function refusalText(ctx: Pick<Ctx, 'session'>, err: unknown, role: Role = ctx.session.role): string {
  if (!(err instanceof ApiError)) return (err as Error).message;
  if (err.status === 403) return t('common.forbidden', { role: roleLabel(role) });
  return tOr(`code.${err.code}`, err.message);
}

/** Posts an action and reports the outcome politely; a refusal says why in the reader's language. */
async function post<T>(ctx: Ctx, path: string, action: Action, body: Record<string, string> | undefined, keep: (answer: T) => void): Promise<boolean> {
  try {
    keep(await ctx.api.post<T>(path, body));
    ctx.status(t(`action.done.${action}`));
    return true;
  } catch (err) {
    ctx.status(t('action.failed', { message: refusalText(ctx, err) }));
    return false;
  }
}

/**
 * Runs an action on an incident (and so on its alarms). The answer goes into the store when the
 * incident is the current site's (My incidents lists other sites' too; their stream event is theirs).
 */
export function runIncidentAction(ctx: Ctx, incident: Pick<Incident, 'id' | 'site'>, action: Action, body?: Record<string, string>): Promise<boolean> {
  return post<Incident>(ctx, `/api/incidents/${encodeURIComponent(incident.id)}/${action}`, action, body, (i) => {
    if (i.site === ctx.site.id) ctx.incidents.upsert(i);
  });
}

/** Runs a lifecycle action on an alarm and puts the answer in the store (the SSE event follows and changes nothing more). */
export function runAction(ctx: Ctx, alarm: Alarm, action: Action, body?: Record<string, string>): Promise<boolean> {
  return post<AlarmWithTimeline>(ctx, `/api/alerts/${encodeURIComponent(alarm.id)}/${action}`, action, body, (a) => ctx.alarms.upsert(a));
}

/** An inline labelled one-line form (a comment): no prompt(); emptied once `submit` succeeds. */
export function textForm(opts: {
  action: string; label: string; submit: string; field: string; max: number; onSubmit(text: string): Promise<boolean>;
}): HTMLElement {
  const id = uid(opts.action);
  const input = h('input', { id, name: opts.field, type: 'text', maxlength: opts.max, required: true, autocomplete: 'off' });
  return h('form', {
    class: 'inline-form', 'data-form': opts.action,
    onsubmit: async (e: Event) => {
      e.preventDefault();
      const text = input.value.trim();
      if (!text) return;
      if (await opts.onSubmit(text)) input.value = '';
    },
  }, h('label', { for: id }, opts.label), input, h('button', { type: 'submit', class: 'btn' }, opts.submit));
}
