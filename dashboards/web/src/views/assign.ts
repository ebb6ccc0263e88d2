/// <reference lib="dom" />
import { h, replace, uid } from '../dom.js';
import { roleLabel } from '../format.js';
import { t } from '../i18n/index.js';
import type { Ctx } from '../store.js';
import type { SitePerson } from '../types.js';

/**
 * "Assign" as a picker of the people at the site (`GET /api/sites/{id}/people`), by display name
 * with their role there: it sends the account id (`{accountId}`), which the API checks against the
 * site. Free text stays possible — a team or a contractor without an account (`{assignee}`, which
 * the API keeps as given) — behind "someone else"; it is all there is when the site's people cannot
 * be read (a hub without accounts). The current assignee is preselected.
 */

export type AssignBody = { accountId: string } | { assignee: string };

const OTHER = '__other__';

/** A person as pickers offer them: display name and role at the site (`李军（维修人员）`). */
export const personLabel = (p: SitePerson): string => t('assign.person', { name: p.displayName, role: roleLabel(p.role) });

export function assignForm(ctx: Pick<Ctx, 'people'>, site: string, current: string | undefined, submit: (body: AssignBody) => Promise<boolean>): HTMLElement {
  const selectId = uid('assign');
  const textId = uid('assign-text');
  const select = h('select', { id: selectId, name: 'accountId', 'data-testid': 'assign-person', disabled: true },
    h('option', { value: '' }, t('common.loading')));
  const text = h('input', { id: textId, name: 'assignee', type: 'text', maxlength: 128, autocomplete: 'off', 'data-testid': 'assign-text' });
  const textField = h('span', { class: 'assign-other', hidden: true }, h('label', { for: textId }, t('assign.otherText')), text);
  const note = h('p', { class: 'muted small', role: 'status' });
  const button = h('button', { type: 'submit', class: 'btn' }, t('action.assign'));

  const showText = (on: boolean) => {
    textField.hidden = !on;
  };
  select.addEventListener('change', () => {
    showText(select.value === OTHER);
    if (select.value === OTHER) text.focus();
  });

  const fill = (people: readonly SitePerson[]) => {
    const known = current !== undefined && people.some((p) => p.id === current);
    replace(select,
      h('option', { value: '' }, t('assign.choose')),
      people.map((p) => h('option', { value: p.id, selected: p.id === current, 'data-person': p.id }, personLabel(p))),
      h('option', { value: OTHER, selected: current !== undefined && !known }, t('assign.other')));
    select.disabled = false;
    if (current !== undefined && !known) text.value = current;
    showText(select.value === OTHER);
  };
  ctx.people.of(site).then(fill, () => {
    // No list: free text only, said once.
    fill([]);
    select.value = OTHER;
    showText(true);
    replace(note, t('assign.noPeople'));
  });

  return h('form', {
    class: 'inline-form assign-form', 'data-form': 'assign',
    onsubmit: async (e: Event) => {
      e.preventDefault();
      const body: AssignBody | undefined = select.value === OTHER
        ? (text.value.trim() ? { assignee: text.value.trim() } : undefined)
        : (select.value ? { accountId: select.value } : undefined);
      if (!body) {
        replace(note, t('assign.pick'));
        (select.value === OTHER ? text : select).focus();
        return;
      }
      replace(note);
      button.disabled = true;
      try {
        await submit(body);
      } finally {
        button.disabled = false;
      }
    },
  }, h('label', { for: selectId }, t('assign.label')), select, textField, button, note);
}
