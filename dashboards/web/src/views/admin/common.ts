/// <reference lib="dom" />
import { ApiError } from '../../api.js';
import { h, replace, uid } from '../../dom.js';
import { lang, t } from '../../i18n/index.js';

/**
 * What the administration screens share: the API's coded refusals said in the reader's language
 * (naming the form field the API pointed at), the one-time display of a secret, and a confirmation
 * dialog for what cannot be undone.
 */

/**
 * A refusal in the reader's language: a sentence per error code, the form label of the field a
 * `validation_failed` names (`labels`: API path → label), then the server's own words as detail
 * (they are English; the sentence before them is not).
 */
const coded = ['conflict', 'not_found', 'forbidden', 'unauthorized', 'network'] as const;
const isCoded = (code: string): code is (typeof coded)[number] => (coded as readonly string[]).includes(code);

export function errorText(err: unknown, labels: Readonly<Record<string, string>> = {}): string {
  if (!(err instanceof ApiError)) return t('common.error', { message: (err as Error).message });
  const field = (path: string) => labels[path] ?? labels[path.split('.')[0] ?? ''] ?? (path || '—');
  if (err.code === 'validation_failed') {
    const fields = [...new Set(err.details.length ? err.details.map((d) => field(d.path)) : [field('')])];
    return `${t('err.validation_failed', { field: fields.join(lang() === 'en' ? ', ' : '、') })} ${t('err.server', { message: err.message })}`;
  }
  if (!isCoded(err.code)) return `${t('err.other', { code: `${err.status} ${err.code}` })} ${t('err.server', { message: err.message })}`;
  const lead = t(`err.${err.code}`, { message: err.message });
  return err.code === 'network' || err.code === 'conflict' ? lead : `${lead} ${t('err.server', { message: err.message })}`;
}

/** A place for a form's outcome: errors are alerts (announced at once), successes polite. */
export function messageBox(): { el: HTMLElement; error(text: string): void; clear(): void } {
  const el = h('p', { class: 'error', role: 'alert' });
  return { el, error: (text) => replace(el, text), clear: () => replace(el) };
}

/**
 * A secret shown once: the warning, the value (selectable, monospace), a Copy button and a button
 * that hides it for good — the page keeps no copy once it is hidden or the view is left.
 */
export function secretOnce(opts: { title: string; secret: string; hint?: string; onDone?: () => void }): HTMLElement {
  const id = uid('secret');
  const note = h('p', { class: 'small', role: 'status' });
  const value = h('code', { id, class: 'secret-value', 'data-testid': 'secret', tabindex: '0' }, opts.secret);
  const copy = async () => {
    try {
      await navigator.clipboard.writeText(opts.secret);
      replace(note, t('secret.copied'));
    } catch {
      // No clipboard permission (an http page on another host): select it for Ctrl+C instead.
      const range = document.createRange();
      range.selectNodeContents(value);
      window.getSelection()?.removeAllRanges();
      window.getSelection()?.addRange(range);
      replace(note, t('secret.copyFailed'));
    }
  };
  const box: HTMLElement = h('section', { class: 'panel secret-once', role: 'alert', 'aria-labelledby': `${id}-h` },
    h('h2', { id: `${id}-h` }, opts.title),
    h('p', { class: 'secret-warning' }, '⚠ ', t('secret.warning')),
    h('div', { class: 'secret-row' }, value,
      h('button', { type: 'button', class: 'btn', 'aria-label': t('secret.copyLabel', { what: opts.title }), onclick: () => { void copy(); } }, t('secret.copy'))),
    opts.hint ? h('p', { class: 'muted small' }, opts.hint) : null,
    note,
    h('button', { type: 'button', class: 'btn primary', onclick: () => { box.remove(); opts.onDone?.(); } }, t('secret.done')));
  return box;
}

/** A modal question with Cancel (the default: Escape and the first focus) and a named confirm button. */
export function confirmDialog(message: string, confirmLabel: string): Promise<boolean> {
  return new Promise((resolve) => {
    const id = uid('confirm');
    const dialog = h('dialog', { class: 'confirm-dialog', 'aria-labelledby': id }) as HTMLDialogElement;
    const close = (ok: boolean) => {
      dialog.close();
      dialog.remove();
      resolve(ok);
    };
    const cancel = h('button', { type: 'button', class: 'btn', onclick: () => close(false) }, t('admin.cancel'));
    dialog.append(
      h('p', { id }, message),
      h('div', { class: 'actions' }, cancel, h('button', { type: 'button', class: 'btn danger', 'data-confirm': 'yes', onclick: () => close(true) }, confirmLabel)));
    dialog.addEventListener('cancel', (e) => { e.preventDefault(); close(false); });
    document.body.append(dialog);
    dialog.showModal();
    cancel.focus();
  });
}

/** A labelled form field; `input` is any control. */
export function field(label: string, input: HTMLElement, help?: string): HTMLElement {
  const id = input.id || uid('f');
  input.id = id;
  const helpId = help ? `${id}-help` : undefined;
  if (helpId) input.setAttribute('aria-describedby', helpId);
  return h('div', { class: 'field' }, h('label', { for: id }, label), input, help ? h('p', { id: helpId, class: 'muted small' }, help) : null);
}

/** Runs a form's request with its submit button disabled, showing a refusal in `box`. */
export async function busy<T>(
  button: HTMLButtonElement, box: ReturnType<typeof messageBox>, labels: Readonly<Record<string, string>>, run: () => Promise<T>,
): Promise<T | undefined> {
  const text = button.textContent ?? '';
  button.disabled = true;
  replace(button, t('admin.saving'));
  box.clear();
  try {
    return await run();
  } catch (err) {
    box.error(errorText(err, labels));
    return undefined;
  } finally {
    button.disabled = false;
    replace(button, text);
  }
}
