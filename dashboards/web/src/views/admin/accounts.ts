/// <reference lib="dom" />
import { h, replace } from '../../dom.js';
import { formatTime } from '../../format.js';
import { t } from '../../i18n/index.js';
import type { Ctx } from '../../store.js';
import type { Page } from '../../types.js';
import { busy, confirmDialog, errorText, field, messageBox, secretOnce } from './common.js';

/**
 * `#/admin/accounts`: MQTT service accounts — list with their topic filters, create one (secret
 * shown once), rotate its secret (shown once; its connections are closed), delete it. The account
 * from ANJU_INGEST_USER belongs to the environment: shown, not changed here.
 */

interface Account { id: string; publish: string[]; subscribe: string[]; deny: string[]; origin: 'api' | 'env'; createdAt: string; secretSetAt: string }

const lines = (text: string) => text.split('\n').map((s) => s.trim()).filter(Boolean);
const filters = (items: string[]) => (items.length ? h('ul', { class: 'filter-list' }, items.map((f) => h('li', null, h('code', null, f)))) : t('common.none'));

export function accountsAdmin(root: HTMLElement, ctx: Ctx): () => void {
  let stopped = false;
  const labels = () => ({ id: t('sa.id'), publish: t('sa.publish'), subscribe: t('sa.subscribe'), deny: t('sa.deny') });
  const secrets = h('div', { class: 'secrets' });
  const list = h('div', { class: 'admin-list' }, h('p', { class: 'muted' }, t('common.loading')));
  const listBox = messageBox();
  const showSecret = (id: string, secret: string) => replace(secrets, secretOnce({ title: t('sa.secretOf', { id }), secret }));

  const reload = async () => {
    try {
      const page = await ctx.api.get<Page<Account>>('/api/service-accounts', { limit: 500 });
      if (!stopped) render(page.items);
    } catch (err) {
      if (!stopped) listBox.error(errorText(err));
    }
  };

  const act = async (a: Account, button: HTMLButtonElement, what: 'rotate' | 'delete') => {
    if (!(await confirmDialog(t(what === 'rotate' ? 'sa.rotateConfirm' : 'sa.deleteConfirm', { id: a.id }), t(what === 'rotate' ? 'sa.rotate' : 'sa.delete')))) return;
    const path = `/api/service-accounts/${encodeURIComponent(a.id)}`;
    // The rotated account with its secret; null once deleted; undefined when refused (shown in listBox).
    const r = await busy(button, listBox, labels(), async () => {
      if (what === 'rotate') return ctx.api.post<Account & { secret: string }>(`${path}/secret`);
      await ctx.api.del(path);
      return null;
    });
    if (r === undefined || stopped) return;
    if (r) showSecret(a.id, r.secret);
    ctx.status(t(r ? 'sa.rotated' : 'sa.deleted', { id: a.id }));
    await reload();
  };

  const render = (items: Account[]) => {
    if (!items.length) { replace(list, h('p', { class: 'empty muted' }, t('admin.empty'))); return; }
    replace(list, h('table', { class: 'admin-table' },
      h('thead', null, h('tr', null, [t('sa.id'), t('sa.publish'), t('sa.subscribe'), t('sa.deny'), t('sa.secretSetAt'), t('admin.actions')].map((c) => h('th', { scope: 'col' }, c)))),
      h('tbody', null, items.map((a) => {
        const button = (what: 'rotate' | 'delete') => {
          const b: HTMLButtonElement = h('button', {
            type: 'button', class: what === 'delete' ? 'btn danger' : 'btn',
            'aria-label': t(what === 'rotate' ? 'sa.rotateLabel' : 'sa.deleteLabel', { id: a.id }), onclick: () => { void act(a, b, what); },
          }, t(what === 'rotate' ? 'sa.rotate' : 'sa.delete'));
          return b;
        };
        return h('tr', { 'data-account': a.id },
          h('td', null, h('code', null, a.id)), h('td', null, filters(a.publish)), h('td', null, filters(a.subscribe)), h('td', null, filters(a.deny)),
          h('td', null, formatTime(a.secretSetAt, ctx.site.timezone)),
          h('td', { class: 'actions' }, a.origin === 'env' ? h('span', { class: 'muted small' }, t('sa.env')) : [button('rotate'), button('delete')]));
      }))));
  };

  const box = messageBox();
  const id = h('input', { type: 'text', required: true, autocomplete: 'off', spellcheck: 'false' });
  const area = () => h('textarea', { rows: 3, spellcheck: 'false', placeholder: 'devices/+/telemetry' });
  const publish = area();
  const subscribe = area();
  const deny = area();
  const create = h('button', { type: 'submit', class: 'btn primary' }, t('sa.create'));
  const form = h('form', {
    class: 'admin-form', novalidate: true,
    onsubmit: async (e: Event) => {
      e.preventDefault();
      if (!id.value.trim()) { box.error(t('err.required', { field: t('sa.id') })); id.focus(); return; }
      const body = { id: id.value.trim(), publish: lines(publish.value), subscribe: lines(subscribe.value), deny: lines(deny.value) };
      const made = await busy(create, box, labels(), () => ctx.api.post<Account & { secret: string }>('/api/service-accounts', body));
      if (!made || stopped) return;
      showSecret(made.id, made.secret);
      ctx.status(t('sa.created', { id: made.id }));
      form.reset();
      await reload();
    },
  },
  h('div', { class: 'form-grid' }, field(t('sa.id'), id), field(t('sa.publish'), publish), field(t('sa.subscribe'), subscribe), field(t('sa.deny'), deny)),
  h('p', { class: 'muted small' }, t('sa.filtersHelp')), box.el, h('div', { class: 'actions' }, create));

  replace(root,
    secrets,
    h('details', { class: 'panel admin-add' }, h('summary', null, t('sa.create')), h('p', { class: 'muted small' }, t('sa.help')), form),
    h('section', { class: 'panel', 'aria-label': t('sa.title') }, listBox.el, list));
  void reload();
  return () => { stopped = true; };
}
