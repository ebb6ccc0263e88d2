/// <reference lib="dom" />
import { h, replace } from '../../dom.js';
import { roleLabel } from '../../format.js';
import { t, type MessageKey } from '../../i18n/index.js';
import type { Ctx } from '../../store.js';
import { accountsAdmin } from './accounts.js';
import { devicesAdmin } from './devices.js';
import { peopleAdmin } from './people.js';
import { rulesAdmin } from './rules.js';
import { tokensAdmin } from './tokens.js';

/**
 * `#/admin/<section>`: administration for the admin role — devices, people, API tokens, MQTT service
 * accounts and rule parameters, each a small view over the existing API. Other roles never see the
 * navigation entry, and one who types the address gets a refusal instead of forms the API would
 * refuse anyway.
 */

const sections = [
  { id: 'devices', key: 'admin.devices', view: devicesAdmin },
  { id: 'people', key: 'admin.people', view: peopleAdmin },
  { id: 'tokens', key: 'admin.tokens', view: tokensAdmin },
  { id: 'accounts', key: 'admin.accounts', view: accountsAdmin },
  { id: 'rules', key: 'admin.rules', view: rulesAdmin },
] as const satisfies ReadonlyArray<{ id: string; key: MessageKey; view: (root: HTMLElement, ctx: Ctx) => () => void }>;

/** Administration (accounts, tokens, the whole rules configuration) is for admins over every site; a site's admin works in its own screens. */
export const isAdmin = (ctx: Pick<Ctx, 'session'>): boolean =>
  ctx.session.grants ? ctx.session.grants.some((g) => g.role === 'admin' && g.sites === '*') : ctx.session.role === 'admin';

export function adminView(root: HTMLElement, ctx: Ctx, section: string | undefined): () => void {
  if (!isAdmin(ctx)) {
    replace(root, h('h1', { class: 'page-title' }, t('admin.title')), h('p', { class: 'error', role: 'alert', 'data-testid': 'admin-forbidden' }, t('admin.forbidden', { role: roleLabel(ctx.session.role) })));
    return () => undefined;
  }
  const current = sections.find((s) => s.id === section) ?? sections[0];
  const body = h('div', { class: 'admin-body' });
  replace(root,
    h('h1', { class: 'page-title' }, t('admin.title'), ' · ', t(current.key), current.id === 'tokens' || current.id === 'accounts' || current.id === 'people' ? null : ` · ${ctx.site.name}`),
    h('nav', { class: 'admin-tabs', 'aria-label': t('admin.sections') }, h('ul', null, sections.map((s) =>
      h('li', null, h('a', { href: `#/admin/${s.id}`, 'aria-current': s.id === current.id ? 'page' : false }, t(s.key)))))),
    body);
  return current.view(body, ctx);
}
