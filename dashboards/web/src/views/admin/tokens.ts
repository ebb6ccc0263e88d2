/// <reference lib="dom" />
import { h, replace } from '../../dom.js';
import { formatTime, roleLabel } from '../../format.js';
import { t } from '../../i18n/index.js';
import type { Ctx } from '../../store.js';
import { roles, type Page, type Role } from '../../types.js';
import { busy, confirmDialog, errorText, field, messageBox, secretOnce } from './common.js';

/**
 * `#/admin/tokens`: API tokens — list (name, role, created; the tokens themselves are never shown
 * again), create one (shown once), revoke one after a confirmation. The API refuses to revoke the
 * last admin token; that refusal is shown like any other.
 */

interface ApiToken { id: string; name: string; role: Role; createdAt: string }

export function tokensAdmin(root: HTMLElement, ctx: Ctx): () => void {
  let stopped = false;
  const labels = () => ({ name: t('tok.name'), role: t('tok.role') });
  const secrets = h('div', { class: 'secrets' });
  const list = h('div', { class: 'admin-list' }, h('p', { class: 'muted' }, t('common.loading')));
  const listBox = messageBox();

  const reload = async () => {
    try {
      const page = await ctx.api.get<Page<ApiToken>>('/api/tokens');
      if (!stopped) render(page.items);
    } catch (err) {
      if (!stopped) listBox.error(errorText(err));
    }
  };

  const revoke = async (tok: ApiToken, button: HTMLButtonElement) => {
    if (!(await confirmDialog(t('tok.revokeConfirm', { name: tok.name }), t('tok.revoke')))) return;
    const ok = await busy(button, listBox, labels(), async () => { await ctx.api.del(`/api/tokens/${encodeURIComponent(tok.id)}`); return true; });
    if (!ok || stopped) return;
    ctx.status(t('tok.revoked', { name: tok.name }));
    await reload();
  };

  const render = (items: ApiToken[]) => {
    if (!items.length) { replace(list, h('p', { class: 'empty muted' }, t('admin.empty'))); return; }
    replace(list, h('table', { class: 'admin-table' },
      h('thead', null, h('tr', null, [t('tok.name'), t('tok.role'), t('admin.created'), t('admin.actions')].map((c) => h('th', { scope: 'col' }, c)))),
      h('tbody', null, items.map((tok) => {
        const button: HTMLButtonElement = h('button', { type: 'button', class: 'btn danger', 'aria-label': t('tok.revokeLabel', { name: tok.name }), onclick: () => { void revoke(tok, button); } }, t('tok.revoke'));
        return h('tr', { 'data-token': tok.id, 'data-name': tok.name },
          h('td', null, tok.name, tok.id === ctx.session.tokenId ? h('span', { class: 'muted small' }, ` · ${t('tok.yours')}`) : null),
          h('td', null, roleLabel(tok.role)), h('td', null, formatTime(tok.createdAt, ctx.site.timezone)), h('td', { class: 'actions' }, button));
      }))));
  };

  const box = messageBox();
  const name = h('input', { type: 'text', maxlength: '100', required: true, 'data-testid': 'new-token-name' });
  const role = h('select', null, roles.map((r) => h('option', { value: r, selected: r === 'viewer' }, roleLabel(r))));
  const create = h('button', { type: 'submit', class: 'btn primary' }, t('tok.create'));
  const form = h('form', {
    class: 'admin-form', novalidate: true,
    onsubmit: async (e: Event) => {
      e.preventDefault();
      if (!name.value.trim()) { box.error(t('err.required', { field: t('tok.name') })); name.focus(); return; }
      const made = await busy(create, box, labels(), () => ctx.api.post<ApiToken & { token: string }>('/api/tokens', { name: name.value.trim(), role: role.value }));
      if (!made || stopped) return;
      replace(secrets, secretOnce({ title: t('tok.secretOf', { name: made.name }), secret: made.token, hint: t('tok.hint') }));
      ctx.status(t('tok.created', { name: made.name }));
      form.reset();
      await reload();
    },
  }, h('div', { class: 'form-grid' }, field(t('tok.name'), name), field(t('tok.role'), role)), box.el, h('div', { class: 'actions' }, create));

  replace(root,
    secrets,
    h('section', { class: 'panel admin-add', 'aria-label': t('tok.create') }, h('h2', null, t('tok.create')), h('p', { class: 'muted small' }, t('tok.help')), form),
    h('section', { class: 'panel', 'aria-label': t('tok.title') }, listBox.el, list));
  void reload();
  return () => { stopped = true; };
}
