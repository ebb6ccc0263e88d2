/// <reference lib="dom" />
import { h, replace } from '../../dom.js';
import { roleLabel } from '../../format.js';
import { t } from '../../i18n/index.js';
import type { Ctx } from '../../store.js';
import { roles, type Page, type Role } from '../../types.js';
import { busy, confirmDialog, errorText, field, messageBox, secretOnce } from './common.js';

/**
 * `#/admin/people`: people's accounts (issue 18) — list with their roles per site, add a person
 * with a role at this site or at every site, disable / enable (which ends their sessions), and reset
 * a password to a generated one shown once (an administrator never chooses, or sees again, a
 * person's password). Contacts and multi-site grants are edited through `PATCH /api/accounts/{id}`.
 */

interface Grant { role: Role; sites: '*' | string[] }
interface Person { id: string; login: string; displayName: string; grants: Grant[]; disabled: boolean; hasPassword: boolean }

export function peopleAdmin(root: HTMLElement, ctx: Ctx): () => void {
  let stopped = false;
  const labels = () => ({ login: t('ppl.login'), displayName: t('ppl.name'), grants: t('ppl.role') });
  const secrets = h('div', { class: 'secrets' });
  const list = h('div', { class: 'admin-list' }, h('p', { class: 'muted' }, t('common.loading')));
  const listBox = messageBox();
  const siteName = (id: string) => ctx.sites.find((s) => s.id === id)?.name ?? id;
  const grantText = (g: Grant) => t('ppl.grant', { role: roleLabel(g.role), sites: g.sites === '*' ? t('ppl.allSites') : g.sites.map(siteName).join('、') });

  const reload = async () => {
    try {
      const page = await ctx.api.get<Page<Person>>('/api/accounts', { limit: 500 });
      if (!stopped) render(page.items);
    } catch (err) {
      if (!stopped) listBox.error(errorText(err));
    }
  };

  const showPassword = (p: Person, password: string) =>
    replace(secrets, secretOnce({ title: t('ppl.passwordOf', { name: p.displayName }), secret: password, hint: t('ppl.passwordHint') }));

  const reset = async (p: Person, button: HTMLButtonElement) => {
    if (!(await confirmDialog(t('ppl.resetConfirm', { name: p.displayName }), t('ppl.reset')))) return;
    const out = await busy(button, listBox, labels(), () => ctx.api.post<{ password: string }>(`/api/accounts/${encodeURIComponent(p.id)}/password/reset`, {}));
    if (!out || stopped) return;
    showPassword(p, out.password);
    ctx.status(t('ppl.resetDone', { name: p.displayName }));
    await reload();
  };

  const toggle = async (p: Person, button: HTMLButtonElement) => {
    if (!p.disabled && !(await confirmDialog(t('ppl.disableConfirm', { name: p.displayName }), t('ppl.disable')))) return;
    const ok = await busy(button, listBox, labels(), () => ctx.api.patch(`/api/accounts/${encodeURIComponent(p.id)}`, { disabled: !p.disabled }));
    if (ok === undefined || stopped) return;
    ctx.status(t(p.disabled ? 'ppl.enabled' : 'ppl.disabled', { name: p.displayName }));
    await reload();
  };

  const render = (items: Person[]) => {
    if (!items.length) { replace(list, h('p', { class: 'empty muted' }, t('admin.empty'))); return; }
    replace(list, h('table', { class: 'admin-table' },
      h('thead', null, h('tr', null, [t('ppl.name'), t('ppl.login'), t('ppl.role'), t('ppl.state'), t('admin.actions')].map((c) => h('th', { scope: 'col' }, c)))),
      h('tbody', null, items.map((p) => {
        const resetButton: HTMLButtonElement = h('button', { type: 'button', class: 'btn', 'data-action': 'reset-password', 'aria-label': t('ppl.resetLabel', { name: p.displayName }), onclick: () => { void reset(p, resetButton); } }, t('ppl.reset'));
        const toggleButton: HTMLButtonElement = h('button', {
          type: 'button', class: p.disabled ? 'btn' : 'btn danger', 'data-action': p.disabled ? 'enable' : 'disable',
          'aria-label': t(p.disabled ? 'ppl.enableLabel' : 'ppl.disableLabel', { name: p.displayName }), onclick: () => { void toggle(p, toggleButton); },
        }, t(p.disabled ? 'ppl.enable' : 'ppl.disable'));
        const state = p.disabled ? t('ppl.stateDisabled') : p.hasPassword ? t('ppl.stateActive') : t('ppl.stateNoPassword');
        return h('tr', { 'data-person': p.id, 'data-disabled': String(p.disabled) },
          h('td', null, p.displayName), h('td', null, p.login), h('td', null, p.grants.map(grantText).join('；') || t('ppl.noRole')),
          h('td', { 'data-testid': 'person-state' }, state), h('td', { class: 'actions' }, resetButton, toggleButton));
      }))));
  };

  const box = messageBox();
  const login = h('input', { type: 'text', maxlength: '64', required: true, autocomplete: 'off', 'data-testid': 'new-person-login' });
  const name = h('input', { type: 'text', maxlength: '100', required: true, autocomplete: 'off', 'data-testid': 'new-person-name' });
  const role = h('select', { 'data-testid': 'new-person-role' }, roles.map((r) => h('option', { value: r, selected: r === 'maintenance' }, roleLabel(r))));
  const scope = h('select', { 'data-testid': 'new-person-scope' },
    h('option', { value: 'site', selected: true }, t('ppl.thisSite', { site: ctx.site.name })), h('option', { value: '*' }, t('ppl.allSites')));
  const create = h('button', { type: 'submit', class: 'btn primary' }, t('ppl.create'));
  const form = h('form', {
    class: 'admin-form', novalidate: true, 'data-form': 'new-person',
    onsubmit: async (e: Event) => {
      e.preventDefault();
      for (const [input, label] of [[login, t('ppl.login')], [name, t('ppl.name')]] as const) {
        if (!input.value.trim()) { box.error(t('err.required', { field: label })); input.focus(); return; }
      }
      const grants: Grant[] = [{ role: role.value as Role, sites: scope.value === '*' ? '*' : [ctx.site.id] }];
      const made = await busy(create, box, labels(), async () => {
        const p = await ctx.api.post<Person>('/api/accounts', { login: login.value.trim(), displayName: name.value.trim(), grants });
        // The first password is generated by the server and shown once, like a reset.
        const { password } = await ctx.api.post<{ password: string }>(`/api/accounts/${encodeURIComponent(p.id)}/password/reset`, {});
        return { p, password };
      });
      // Re-read either way: a person created whose first password could not be generated is listed
      // as 尚未设置密码, and 重置密码 gives them one.
      if (!made || stopped) { if (!stopped) await reload(); return; }
      showPassword(made.p, made.password);
      ctx.status(t('ppl.created', { name: made.p.displayName }));
      form.reset();
      await reload();
    },
  }, h('div', { class: 'form-grid' }, field(t('ppl.login'), login, t('ppl.loginHelp')), field(t('ppl.name'), name), field(t('ppl.role'), role), field(t('ppl.scope'), scope)),
  box.el, h('div', { class: 'actions' }, create));

  replace(root,
    secrets,
    h('section', { class: 'panel admin-add', 'aria-label': t('ppl.create') }, h('h2', null, t('ppl.create')), h('p', { class: 'muted small' }, t('ppl.help')), form),
    h('section', { class: 'panel', 'aria-label': t('ppl.title') }, listBox.el, list));
  void reload();
  return () => { stopped = true; };
}
