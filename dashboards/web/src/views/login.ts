/// <reference lib="dom" />
import { ApiError, fetchSession } from '../api.js';
import { h, replace } from '../dom.js';
import { t } from '../i18n/index.js';
import type { Session } from '../types.js';

/**
 * The login screen: a token (a password field: it is a secret), "remember on this computer"
 * (localStorage, else sessionStorage for this tab only), and a clear message for a bad token.
 * The token is checked with `GET /api/session`, which also tells the role.
 */

export function loginView(root: HTMLElement, opts: { langSwitch: HTMLElement; notice?: string;
  onLogin(token: string, session: Session, remember: boolean): void }): void {
  const error = h('p', { class: 'error', id: 'login-error', role: 'alert' });
  const token = h('input', { id: 'login-token', name: 'token', type: 'password', autocomplete: 'current-password', required: true, 'aria-describedby': 'login-help login-error', spellcheck: 'false' });
  const remember = h('input', { id: 'login-remember', type: 'checkbox' });
  const submit = h('button', { type: 'submit', class: 'btn primary' }, t('login.submit'));
  if (opts.notice) replace(error, opts.notice);

  const form = h('form', {
    class: 'login-form panel', 'aria-labelledby': 'login-h', novalidate: true,
    onsubmit: async (e: Event) => {
      e.preventDefault();
      const value = token.value.trim();
      if (!value) {
        replace(error, t('login.empty'));
        token.focus();
        return;
      }
      submit.setAttribute('disabled', '');
      replace(submit, t('login.checking'));
      try {
        const session = await fetchSession<Session>(value);
        opts.onLogin(value, session, remember.checked);
      } catch (err) {
        replace(error, err instanceof ApiError && (err.status === 401 || err.status === 403) ? t('login.bad') : t('login.failed', { message: (err as Error).message }));
        token.select();
        token.focus();
      } finally {
        submit.removeAttribute('disabled');
        replace(submit, t('login.submit'));
      }
    },
  },
  h('h1', { id: 'login-h' }, t('login.title')),
  h('div', { class: 'field' }, h('label', { for: 'login-token' }, t('login.token')), token),
  h('p', { class: 'muted small', id: 'login-help' }, t('login.tokenHelp')),
  h('div', { class: 'field check' }, remember, h('label', { for: 'login-remember' }, t('login.remember'))),
  error,
  submit);

  replace(root,
    h('header', { class: 'top login-top' }, h('span', { class: 'brand' }, h('span', { class: 'brand-mark', 'aria-hidden': 'true' }, '安'), t('app.title')), opts.langSwitch),
    h('main', { id: 'main', class: 'login-main' }, form));
  token.focus();
}
