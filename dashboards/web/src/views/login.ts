/// <reference lib="dom" />
import { ApiError, fetchSession, passwordLogin, type Credentials } from '../api.js';
import { h, replace } from '../dom.js';
import { t } from '../i18n/index.js';
import type { Session } from '../types.js';

/**
 * The login screen. People sign in with their login name and password (`POST /api/session/login`:
 * an HttpOnly session cookie, and a CSRF token kept for this tab); the server's refusals are told
 * apart — wrong name or password, too many failures (locked for a while), a disabled account, an
 * account without any role. Integrations and the bootstrap admin may still use an API token
 * (the second form, below): a password field, "remember on this computer" (localStorage, else
 * sessionStorage for this tab only). Either way `GET /api/session` then tells who it is.
 */

function refusal(err: unknown): string {
  if (!(err instanceof ApiError)) return t('login.failed', { message: (err as Error).message });
  if (err.status === 401) return t('login.badPassword');
  if (err.status === 429) return t('login.locked');
  if (err.code === 'account_disabled') return t('login.disabled');
  if (err.code === 'no_role') return t('login.noRole');
  if (err.status === 400) return t('login.emptyPassword');
  return t('login.failed', { message: err.message });
}

export function loginView(root: HTMLElement, opts: { langSwitch: HTMLElement; notice?: string;
  onLogin(creds: Credentials, session: Session, remember: boolean): void }): void {
  const error = h('p', { class: 'error', id: 'login-pw-error', role: 'alert' });
  if (opts.notice) replace(error, opts.notice);

  const busy = async (button: HTMLElement, work: () => Promise<void>) => {
    button.setAttribute('disabled', '');
    replace(button, t('login.checking'));
    try {
      await work();
    } finally {
      button.removeAttribute('disabled');
      replace(button, t('login.submit'));
    }
  };

  // ---- name and password (people) ----
  const name = h('input', { id: 'login-name', name: 'username', type: 'text', autocomplete: 'username', required: true, 'aria-describedby': 'login-pw-error',
    spellcheck: 'false', autocapitalize: 'none' });
  const password = h('input', { id: 'login-password', name: 'password', type: 'password', autocomplete: 'current-password', required: true, 'aria-describedby': 'login-pw-error' });
  const submit = h('button', { type: 'submit', class: 'btn primary', 'data-testid': 'login-submit' }, t('login.submit'));
  const form = h('form', {
    class: 'login-form panel', 'aria-labelledby': 'login-h', novalidate: true,
    onsubmit: async (e: Event) => {
      e.preventDefault();
      const login = name.value.trim();
      if (!login || !password.value) {
        replace(error, t('login.emptyPassword'));
        (login ? password : name).focus();
        return;
      }
      await busy(submit, async () => {
        try {
          const { csrfToken } = await passwordLogin(login, password.value);
          const creds = { csrf: csrfToken };
          opts.onLogin(creds, await fetchSession<Session>(creds), false);
        } catch (err) {
          replace(error, refusal(err));
          password.value = '';
          password.focus();
        }
      });
    },
  },
  h('h1', { id: 'login-h' }, t('login.title')),
  h('div', { class: 'field' }, h('label', { for: 'login-name' }, t('login.name')), name),
  h('div', { class: 'field' }, h('label', { for: 'login-password' }, t('login.password')), password),
  error,
  submit);

  // ---- API token (integrations, the bootstrap admin) ----
  const tokenError = h('p', { class: 'error', id: 'login-error', role: 'alert' });
  const token = h('input', { id: 'login-token', name: 'token', type: 'password', autocomplete: 'off', required: true, 'aria-describedby': 'login-help login-error',
    spellcheck: 'false' });
  const remember = h('input', { id: 'login-remember', type: 'checkbox' });
  const tokenSubmit = h('button', { type: 'submit', class: 'btn' }, t('login.submit'));
  const tokenForm = h('form', {
    class: 'login-form login-token panel', 'aria-labelledby': 'login-token-h', novalidate: true, 'data-testid': 'login-with-token',
    onsubmit: async (e: Event) => {
      e.preventDefault();
      const value = token.value.trim();
      if (!value) {
        replace(tokenError, t('login.empty'));
        token.focus();
        return;
      }
      await busy(tokenSubmit, async () => {
        try {
          const creds = { token: value };
          opts.onLogin(creds, await fetchSession<Session>(creds), remember.checked);
        } catch (err) {
          replace(tokenError, err instanceof ApiError && (err.status === 401 || err.status === 403) ? t('login.bad') : t('login.failed', { message: (err as Error).message }));
          token.select();
          token.focus();
        }
      });
    },
  },
  h('h2', { id: 'login-token-h' }, t('login.useToken')),
  h('div', { class: 'field' }, h('label', { for: 'login-token' }, t('login.token')), token),
  h('p', { class: 'muted small', id: 'login-help' }, t('login.tokenHelp')),
  h('div', { class: 'field check' }, remember, h('label', { for: 'login-remember' }, t('login.remember'))),
  tokenError,
  tokenSubmit);

  replace(root,
    h('header', { class: 'top login-top' }, h('span', { class: 'brand' }, h('span', { class: 'brand-mark', 'aria-hidden': 'true' }, '安'), t('app.title')), opts.langSwitch),
    h('main', { id: 'main', class: 'login-main' }, h('div', { class: 'login-stack' }, form, tokenForm)));
  name.focus();
}
