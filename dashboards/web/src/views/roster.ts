/// <reference lib="dom" />
import { ApiError } from '../api.js';
import { h, replace } from '../dom.js';
import { formatTime, hazardLabel } from '../format.js';
import { lang, t } from '../i18n/index.js';
import { buildingName, can, type Ctx } from '../store.js';
import type { Roster, RosterException, Shift, SitePerson, StoredRoster } from '../types.js';
import { errorText } from './admin/common.js';
import { rosterEditor, type RosterBody } from './roster-edit.js';

/**
 * `#/roster` 值班表: the current site's on-call roster (core/roster.ts) as people read it — the weekly
 * shifts (days, wall-clock times in the site's zone, hazards, buildings, who is called in order, by
 * display name), the managers at the end of every chain, the escalation limit, the exceptions, and
 * who a fire would be handed to right now. Operators and admins of the site edit it (views/roster-edit.ts)
 * and save the whole roster (`PUT /api/sites/{id}/roster`); the API's refusals are said in the
 * reader's language, `unknown_people` one line per person (where in the roster, who, why).
 */

interface OnDuty { source: string; chain: Array<{ id: string; displayName: string; manager: boolean }> }

const list = (items: string[]) => items.join(lang() === 'en' ? ', ' : '、');

/** `[1,2,3,4,5]` → 周一至周五; every day, the weekend, or the days listed. */
export function daysText(days: readonly number[]): string {
  const d = [...new Set(days)].sort((a, b) => a - b).join(',');
  if (d === '1,2,3,4,5,6,7') return t('day.every');
  if (d === '1,2,3,4,5') return t('day.weekdays');
  if (d === '6,7') return t('day.weekend');
  return list(d.split(',').map((n) => t(`day.${n}` as 'day.1')));
}

/** `22:00–06:00` runs into the next day; `08:00–08:00` is 24 hours. */
export function timeText(s: Pick<Shift, 'start' | 'end'>): string {
  if (s.start === s.end) return t('roster.allDay', { time: s.start });
  return `${s.start}–${s.end <= s.start ? t('roster.nextDay', { time: s.end }) : s.end}`;
}

export function rosterView(root: HTMLElement, ctx: Ctx): () => void {
  let stopped = false;
  const site = ctx.site;
  const mayEdit = can(ctx.session.role, 'roster');
  const body = h('div', { class: 'roster-body' }, h('p', { class: 'muted' }, t('common.loading')));
  replace(root, h('h1', { class: 'page-title', tabindex: '-1' }, t('roster.title'), ' · ', site.name), body);
  let people: SitePerson[] = [];
  const nameOf = (id: string) => people.find((p) => p.id === id)?.displayName ?? t('roster.notAPerson', { id });

  const peopleText = (ids: readonly string[]) => (ids.length
    ? h('ol', { class: 'roster-people' }, ids.map((id) => h('li', { 'data-person': id }, nameOf(id))))
    : h('span', { class: 'muted' }, t('roster.nobody')));
  const scopeText = (x: Pick<Shift, 'hazards' | 'buildings'>) => ({
    hazards: x.hazards === '*' ? t('roster.all') : list(x.hazards.map(hazardLabel)),
    buildings: x.buildings === '*' ? t('roster.all') : list(x.buildings.map((b) => buildingName(ctx, b))),
  });

  const shiftsTable = (shifts: readonly Shift[]) => (shifts.length
    ? h('table', { class: 'admin-table roster-shifts' },
      h('thead', null, h('tr', null, [t('roster.shift'), t('roster.days'), t('roster.time'), t('roster.hazards'), t('roster.buildings'), t('roster.people')]
        .map((c) => h('th', { scope: 'col' }, c)))),
      h('tbody', null, shifts.map((s, n) => {
        const scope = scopeText(s);
        return h('tr', { 'data-shift': n },
          h('th', { scope: 'row' }, String(n + 1)), h('td', null, daysText(s.days)), h('td', null, timeText(s)),
          h('td', null, scope.hazards), h('td', null, scope.buildings), h('td', null, peopleText(s.people)));
      })))
    : h('p', { class: 'muted' }, t('roster.noShifts')));

  const exceptionsTable = (exceptions: readonly RosterException[]) => (exceptions.length
    ? h('table', { class: 'admin-table roster-exceptions' },
      h('thead', null, h('tr', null, [t('roster.from'), t('roster.to'), t('roster.hazards'), t('roster.buildings'), t('roster.people'), t('roster.note')]
        .map((c) => h('th', { scope: 'col' }, c)))),
      h('tbody', null, exceptions.map((e) => {
        const scope = scopeText(e);
        return h('tr', null, h('td', null, e.from.replace('T', ' ')), h('td', null, e.to.replace('T', ' ')), h('td', null, scope.hazards),
          h('td', null, scope.buildings), h('td', null, peopleText(e.people)), h('td', null, e.note ?? ''));
      })))
    : h('p', { class: 'muted' }, t('roster.noExceptions')));

  const show = (stored: StoredRoster | undefined, onDuty: OnDuty | undefined) => {
    const r: Roster | undefined = stored?.roster;
    const edit = mayEdit
      ? h('button', { type: 'button', class: 'btn primary', 'data-testid': 'roster-edit', onclick: () => openEditor(stored) }, t('roster.edit'))
      : h('p', { class: 'muted', 'data-testid': 'roster-readonly' }, t('roster.readOnly'));
    replace(body,
      h('p', { class: 'muted' }, t('roster.help', { timezone: r?.timezone ?? site.timezone })),
      stored
        ? h('p', { class: 'small', 'data-testid': 'roster-version', 'data-version': stored.version },
          t('roster.version', { version: stored.version, by: stored.updatedBy, time: formatTime(stored.updatedAt, site.timezone) }))
        : h('p', { class: 'muted', 'data-testid': 'roster-none' }, t('roster.none')),
      h('div', { class: 'actions' }, edit),
      r ? [
        h('section', { class: 'panel', 'aria-labelledby': 'roster-shifts-h' }, h('h2', { id: 'roster-shifts-h' }, t('roster.shifts')), shiftsTable(r.shifts)),
        h('section', { class: 'panel', 'aria-labelledby': 'roster-managers-h' },
          h('h2', { id: 'roster-managers-h' }, t('roster.managers')),
          r.managers.length ? peopleText(r.managers) : h('p', { class: 'muted' }, t('roster.noManagers')),
          h('h3', null, t('roster.escalation')),
          h('p', { 'data-testid': 'roster-ack' }, r.ackWithinMinutes !== undefined ? t('roster.ackWithinValue', { minutes: r.ackWithinMinutes }) : t('roster.ackDefault'))),
        h('section', { class: 'panel', 'aria-labelledby': 'roster-exceptions-h' },
          h('h2', { id: 'roster-exceptions-h' }, t('roster.exceptions')), exceptionsTable(r.exceptions)),
        onDuty ? h('section', { class: 'panel', 'aria-labelledby': 'roster-now-h' },
          h('h2', { id: 'roster-now-h' }, t('roster.onDuty')),
          h('ol', { class: 'roster-people', 'data-testid': 'roster-now' }, onDuty.chain.map((p) => h('li', null, p.displayName, p.manager ? ` · ${t('roster.manager')}` : '')))) : null,
      ] : null);
  };

  const openEditor = (stored: StoredRoster | undefined) => {
    const save = async (roster: RosterBody) => {
      const saved = await ctx.api.put<StoredRoster>(`/api/sites/${encodeURIComponent(site.id)}/roster`, roster);
      if (stopped) return;
      ctx.status(t('roster.saved', { version: saved.version }));
      await reload();
      (root.querySelector('h1') as HTMLElement | null)?.focus();
    };
    replace(body, rosterEditor(ctx, {
      roster: stored?.roster, timezone: stored?.roster.timezone ?? site.timezone, people,
      save, cancel: () => void reload(),
    }));
  };

  const reload = async () => {
    const path = `/api/sites/${encodeURIComponent(site.id)}`;
    try {
      const [stored, list, onDuty] = await Promise.all([
        ctx.api.get<StoredRoster>(`${path}/roster`).catch((err: unknown) => {
          if (err instanceof ApiError && err.code === 'no_roster') return undefined;
          throw err;
        }),
        ctx.people.of(site.id).catch(() => [] as SitePerson[]),
        ctx.api.get<OnDuty>(`${path}/on-duty`, { hazard: 'fire' }).catch(() => undefined),
      ]);
      if (stopped) return;
      people = list;
      show(stored, onDuty);
    } catch (err) {
      if (!stopped) replace(body, h('p', { class: 'error', role: 'alert' }, errorText(err)));
    }
  };
  void reload();
  return () => { stopped = true; };
}
