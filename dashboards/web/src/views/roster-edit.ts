/// <reference lib="dom" />
import { hazards, type Hazard } from '../../../../core/alarms.js';
import { ApiError } from '../api.js';
import { h, replace, uid } from '../dom.js';
import { hazardLabel } from '../format.js';
import { t } from '../i18n/index.js';
import type { Ctx } from '../store.js';
import type { Roster, RosterException, SitePerson } from '../types.js';
import { errorText, field } from './admin/common.js';
import { personLabel } from './assign.js';

/**
 * The roster editor: every weekly shift as a group of labelled controls — days (checkboxes), start
 * and end (time inputs, the site's wall clock), hazards and buildings ("all", or some), and the
 * people in calling order (add from the site's people, move up, remove: buttons, no dragging) — then
 * the managers the same way and the escalation limit. The whole roster is saved at once (the API
 * keeps every version); exceptions are not edited here and are sent back as they were. What the
 * form can check it says before sending (in the reader's language, naming the shift); what only
 * the server knows — a person who cannot serve the site (422 `unknown_people`) — is said one line
 * per person: where in the roster, who, why.
 */

const MAX_PEOPLE = 10; // core/roster.ts: people per shift and managers
const HHMM = /^([01][0-9]|2[0-3]):[0-5][0-9]$/;

interface DraftShift { days: number[]; start: string; end: string; hazards: '*' | Hazard[]; buildings: '*' | string[]; people: string[] }

/** `PUT /api/sites/{id}/roster`'s body. */
export interface RosterBody {
  timezone: string; shifts: DraftShift[]; exceptions: RosterException[]; managers: string[]; ackWithinMinutes?: number;
}

export interface RosterEditorOptions {
  roster: Roster | undefined;
  timezone: string;
  people: readonly SitePerson[];
  /** Sends it; rejects with the API's refusal. */
  save(body: RosterBody): Promise<void>;
  cancel(): void;
}

/** Where in the roster a refused name sits (`shifts.0.people.1`), in words. */
function whereText(path: string): string {
  const m = /^(shifts|exceptions)\.(\d+)\.people\.(\d+)$/.exec(path);
  if (m) return t(m[1] === 'shifts' ? 'roster.where.shift' : 'roster.where.exception', { shift: Number(m[2]) + 1, n: Number(m[3]) + 1 });
  const mg = /^managers\.(\d+)$/.exec(path);
  return mg ? t('roster.where.managers', { n: Number(mg[1]) + 1 }) : path;
}

/** Why the server refused a name (`ghost: no such account`), in words. */
function whyText(message: string): { id: string; why: string } {
  const at = message.indexOf(': ');
  const id = at < 0 ? '' : message.slice(0, at);
  const why = at < 0 ? message : message.slice(at + 2);
  if (why === 'no such account') return { id, why: t('roster.why.none') };
  if (why === 'the account is disabled') return { id, why: t('roster.why.disabled') };
  if (why.startsWith('the account has no role at site')) return { id, why: t('roster.why.noRole') };
  return { id, why };
}

export function rosterEditor(ctx: Pick<Ctx, 'buildings'>, o: RosterEditorOptions): HTMLElement {
  const copy = (x: '*' | readonly string[]) => (x === '*' ? '*' : [...x]);
  const shifts: DraftShift[] = (o.roster?.shifts ?? []).map((s) => ({
    days: [...s.days], start: s.start, end: s.end, hazards: copy(s.hazards) as DraftShift['hazards'], buildings: copy(s.buildings), people: [...s.people],
  }));
  const managers = [...(o.roster?.managers ?? [])];
  const nameOf = (id: string) => {
    const p = o.people.find((x) => x.id === id);
    return p ? personLabel(p) : t('roster.notAPerson', { id });
  };

  /** A group of checkboxes, optionally with "all" ('*'), which disables the others while checked. */
  function checks<T extends string | number>(legend: string, key: string, options: ReadonlyArray<{ value: T; label: string }>,
    get: () => '*' | T[], set: (v: '*' | T[]) => void, all: boolean): HTMLElement {
    const boxes = options.map((opt) => {
      const id = uid(key);
      const box = h('input', { id, type: 'checkbox', value: String(opt.value), 'data-value': String(opt.value) });
      box.addEventListener('change', () => {
        const cur = get();
        const list = cur === '*' ? [] : cur.filter((v) => v !== opt.value);
        set(box.checked ? [...list, opt.value] : list);
      });
      return { opt, box, el: h('span', { class: 'check' }, box, h('label', { for: id }, opt.label)) };
    });
    const allId = uid(`${key}-all`);
    const allBox = h('input', { id: allId, type: 'checkbox', 'data-value': '*' });
    const sync = () => {
      const cur = get();
      allBox.checked = cur === '*';
      for (const b of boxes) {
        b.box.checked = cur !== '*' && cur.includes(b.opt.value);
        b.box.disabled = cur === '*';
      }
    };
    allBox.addEventListener('change', () => { set(allBox.checked ? '*' : []); sync(); });
    sync();
    return h('fieldset', { class: `checks checks-${key}` }, h('legend', null, legend),
      all ? h('span', { class: 'check' }, allBox, h('label', { for: allId }, t('roster.all'))) : null, boxes.map((b) => b.el));
  }

  /** People in calling order: add (from the site's people), move up, remove. */
  function peopleList(label: string, key: string, ids: string[]): HTMLElement {
    const wrap = h('fieldset', { class: 'people-list', 'data-list': key });
    const render = (focus?: string) => {
      const selectId = uid('person');
      const select = h('select', { id: selectId, 'data-testid': `add-person-${key}` },
        h('option', { value: '' }, t('roster.choosePerson')),
        o.people.filter((p) => !ids.includes(p.id)).map((p) => h('option', { value: p.id }, personLabel(p))));
      const add = h('button', {
        type: 'button', class: 'btn', 'data-testid': `add-${key}`, disabled: ids.length >= MAX_PEOPLE, 'aria-label': t('roster.addPersonLabel', { list: label }),
        onclick: () => {
          if (!select.value || ids.length >= MAX_PEOPLE) { select.focus(); return; }
          ids.push(select.value);
          render('add');
        },
      }, t('roster.addPerson'));
      replace(wrap, h('legend', null, label),
        ids.length
          ? h('ol', { class: 'roster-people' }, ids.map((id, n) => h('li', { 'data-person': id }, nameOf(id), ' ',
            n > 0 ? h('button', { type: 'button', class: 'btn small', 'data-focus': `up:${id}`, 'aria-label': t('roster.moveUpLabel', { name: nameOf(id) }),
              onclick: () => { ids.splice(n - 1, 0, ...ids.splice(n, 1)); render(`up:${id}`); } }, '↑ ', t('roster.moveUp')) : null,
            h('button', { type: 'button', class: 'btn small', 'aria-label': t('roster.removePersonLabel', { name: nameOf(id), list: label }),
              onclick: () => { ids.splice(n, 1); render('add'); } }, t('roster.removePerson')))))
          : h('p', { class: 'muted small' }, t('roster.emptyList')),
        h('div', { class: 'inline-form' }, h('label', { for: selectId, class: 'sr-only' }, t('roster.choosePerson')), select, add));
      // Focus stays where the hand is: on the moved person's button, or the picker after adding or removing.
      if (focus === 'add') select.focus();
      else if (focus) (wrap.querySelector<HTMLElement>(`[data-focus="${CSS.escape(focus)}"]`) ?? select).focus();
    };
    render();
    return wrap;
  }

  const shiftsEl = h('div', { class: 'roster-shift-list' });
  const dayOptions = [1, 2, 3, 4, 5, 6, 7].map((d) => ({ value: d, label: t(`day.${d}` as 'day.1') }));
  const hazardOptions = hazards.map((hz) => ({ value: hz as string, label: hazardLabel(hz) }));
  const buildingOptions = [...ctx.buildings.values()].map((b) => ({ value: b.id, label: b.name }));
  const renderShifts = (focusShift?: number) => {
    replace(shiftsEl, shifts.map((s, n) => {
      const label = t('roster.shiftN', { n: n + 1 });
      const time = (what: 'start' | 'end') => {
        const input = h('input', { type: 'time', step: 60, required: true, value: s[what], 'data-field': what });
        input.addEventListener('input', () => { s[what] = input.value; });
        return field(t(what === 'start' ? 'roster.start' : 'roster.end'), input);
      };
      return h('fieldset', { class: 'panel roster-shift', 'data-shift': n, tabindex: '-1' },
        h('legend', null, label),
        checks(t('roster.days'), `days-${n}`, dayOptions, () => s.days, (v) => { s.days = v === '*' ? [1, 2, 3, 4, 5, 6, 7] : v; }, false),
        h('div', { class: 'roster-times' }, time('start'), time('end')),
        checks(t('roster.hazards'), `hazards-${n}`, hazardOptions, () => s.hazards, (v) => { s.hazards = v as DraftShift['hazards']; }, true),
        buildingOptions.length ? checks(t('roster.buildings'), `buildings-${n}`, buildingOptions, () => s.buildings, (v) => { s.buildings = v; }, true) : null,
        peopleList(`${label} ${t('roster.people')}`, `shift-${n}`, s.people),
        h('div', { class: 'actions' }, h('button', {
          type: 'button', class: 'btn danger', 'aria-label': t('roster.removeShiftLabel', { n: n + 1 }),
          onclick: () => { shifts.splice(n, 1); renderShifts(Math.min(n, shifts.length - 1)); },
        }, t('roster.removeShift'))));
    }));
    if (focusShift !== undefined) (shiftsEl.querySelector<HTMLElement>(`[data-shift="${focusShift}"]`) ?? addShift).focus();
  };
  const addShift = h('button', {
    type: 'button', class: 'btn', 'data-testid': 'add-shift',
    onclick: () => {
      shifts.push({ days: [1, 2, 3, 4, 5, 6, 7], start: '08:00', end: '20:00', hazards: '*', buildings: '*', people: [] });
      renderShifts(shifts.length - 1);
    },
  }, t('roster.addShift'));
  renderShifts();

  const ack = h('input', { type: 'number', min: 1, max: 1440, step: 1, inputmode: 'numeric', value: o.roster?.ackWithinMinutes ?? '', 'data-field': 'ackWithinMinutes' });
  const problems = h('div', { class: 'error', role: 'alert', 'data-testid': 'roster-error' });
  const saveButton = h('button', { type: 'submit', class: 'btn primary', 'data-testid': 'roster-save' }, t('roster.save'));

  /** What the form can tell before sending, one sentence per problem, naming the shift. */
  const check = (): string[] => {
    const out: string[] = [];
    shifts.forEach((s, i) => {
      const n = i + 1;
      if (!s.days.length) out.push(t('roster.err.days', { n }));
      if (!HHMM.test(s.start) || !HHMM.test(s.end)) out.push(t('roster.err.time', { n }));
      if (s.hazards !== '*' && !s.hazards.length) out.push(t('roster.err.hazards', { n }));
      if (s.buildings !== '*' && !s.buildings.length) out.push(t('roster.err.buildings', { n }));
      if (!s.people.length) out.push(t('roster.err.people', { n }));
    });
    if (ack.value.trim() && !/^\d+$/.test(ack.value.trim())) out.push(t('roster.err.ackWithin'));
    else if (ack.value.trim() && (Number(ack.value) < 1 || Number(ack.value) > 1440)) out.push(t('roster.err.ackWithin'));
    return out;
  };

  const refusal = (err: unknown) => {
    if (err instanceof ApiError && err.code === 'unknown_people') {
      replace(problems, h('p', null, t('roster.err.unknown_people')), h('ul', null, err.details.map((d) => {
        const { id, why } = whyText(d.message);
        return h('li', { 'data-path': d.path }, `${whereText(d.path)}：${id ? `${nameOf(id)} — ` : ''}${why}`);
      })));
      return;
    }
    replace(problems, errorText(err, { shifts: t('roster.shifts'), managers: t('roster.managers'), ackWithinMinutes: t('roster.escalation'), timezone: 'timezone' }));
  };

  return h('form', {
    class: 'roster-form', novalidate: true, 'data-testid': 'roster-form',
    onsubmit: async (e: Event) => {
      e.preventDefault();
      const found = check();
      if (found.length) {
        replace(problems, found.length === 1 ? found[0] : h('ul', null, found.map((p) => h('li', null, p))));
        return;
      }
      replace(problems);
      const body: RosterBody = {
        timezone: o.timezone, shifts, exceptions: o.roster?.exceptions ?? [], managers,
        ...(ack.value.trim() ? { ackWithinMinutes: Number(ack.value) } : {}),
      };
      saveButton.disabled = true;
      try {
        await o.save(body);
      } catch (err) {
        refusal(err);
      } finally {
        saveButton.disabled = false;
      }
    },
  },
  h('section', { class: 'panel', 'aria-labelledby': 'edit-shifts-h' }, h('h2', { id: 'edit-shifts-h' }, t('roster.shifts')), shiftsEl, h('div', { class: 'actions' }, addShift)),
  h('section', { class: 'panel', 'aria-labelledby': 'edit-managers-h' },
    h('h2', { id: 'edit-managers-h' }, t('roster.escalation')),
    peopleList(t('roster.managers'), 'managers', managers),
    field(t('roster.ackWithin'), ack, t('roster.limits')),
    o.roster?.exceptions.length ? h('p', { class: 'muted small' }, t('roster.exceptionsKept')) : null),
  problems,
  h('div', { class: 'actions' }, saveButton, h('button', { type: 'button', class: 'btn', onclick: () => o.cancel() }, t('admin.cancel'))));
}
