/// <reference lib="dom" />
import { h, replace } from '../../dom.js';
import { kindLabel } from '../../format.js';
import { lang, t } from '../../i18n/index.js';
import type { Ctx } from '../../store.js';
import { busy, errorText, messageBox } from './common.js';

/**
 * `#/admin/rules`: the alert rules' parameters at the current site (`/api/rules/sites/{site}`).
 * One fold per rule: each parameter with what the site inherits (code defaults, global and per-kind
 * settings), the site's own value (empty = inherit) and what is in force; per kind where a rule
 * serves several kinds with different values. Saving replaces this rule's part of the site's
 * overrides; the API checks every value and the merged result, and its refusal is shown here.
 */

type Value = unknown;
interface Entry { rule: string; name: string; kind: string; inherited: Record<string, Value>; effective: Record<string, Value> }
interface SiteRules { site: string; overrides: Record<string, Record<string, Value>>; rules: Entry[] }

const show = (v: Value): string => (typeof v === 'boolean' ? t(v ? 'common.yes' : 'common.no') : v === undefined ? t('common.none') : String(v));

/** One value, or `kind: value` per kind when the kinds differ. */
function perKind(entries: Entry[], pick: (e: Entry) => Value): string {
  const values = entries.map(pick);
  if (values.every((v) => JSON.stringify(v) === JSON.stringify(values[0]))) return show(values[0]);
  const [sep, end] = lang() === 'en' ? [': ', '; '] : ['：', '；'];
  return entries.map((e, i) => `${kindLabel(e.kind)}${sep}${show(values[i])}`).join(end);
}

export function rulesAdmin(root: HTMLElement, ctx: Ctx): () => void {
  let stopped = false;
  const listBox = messageBox();
  const list = h('div', { class: 'rule-list' }, h('p', { class: 'muted' }, t('common.loading')));
  const url = `/api/rules/sites/${encodeURIComponent(ctx.site.id)}`;

  const render = (data: SiteRules, open?: string) => {
    const byRule = new Map<string, Entry[]>();
    for (const e of data.rules) byRule.set(e.rule, [...(byRule.get(e.rule) ?? []), e]);
    replace(list, [...byRule.entries()].map(([rule, entries]) => ruleForm(data, rule, entries, rule === open)));
  };

  const ruleForm = (data: SiteRules, rule: string, entries: Entry[], open: boolean): HTMLElement => {
    const first = entries[0] as Entry;
    const own = data.overrides[rule] ?? {};
    const box = messageBox();
    const params = Object.keys(first.effective);
    const inputs = new Map<string, HTMLInputElement | HTMLSelectElement>();
    const labels: Record<string, string> = { [rule]: first.name };
    const rows = params.map((p) => {
      const inherited = first.inherited[p];
      const label = `${first.name} · ${p}`;
      labels[`${rule}.${p}`] = label;
      const input = typeof inherited === 'boolean'
        ? h('select', { 'aria-label': label, 'data-param': p },
          h('option', { value: '' }, t('rules.inherit')),
          h('option', { value: 'true', selected: own[p] === true }, t('common.yes')),
          h('option', { value: 'false', selected: own[p] === false }, t('common.no')))
        : h('input', { type: 'text', inputmode: typeof inherited === 'number' ? 'decimal' : 'text', 'aria-label': label, 'data-param': p, placeholder: show(inherited), value: own[p] === undefined ? '' : String(own[p]) });
      inputs.set(p, input);
      return h('tr', { 'data-param': p, class: p in own ? 'overridden' : '' },
        h('th', { scope: 'row' }, h('code', null, p)),
        h('td', null, perKind(entries, (e) => e.inherited[p])),
        h('td', null, input),
        h('td', { 'data-effective': p }, perKind(entries, (e) => e.effective[p])));
    });
    const save = h('button', { type: 'submit', class: 'btn primary', 'aria-label': t('rules.saveLabel', { rule: first.name }) }, t('rules.save'));
    const form = h('form', {
      class: 'admin-form', novalidate: true,
      onsubmit: async (e: Event) => {
        e.preventDefault();
        const partial: Record<string, Value> = {};
        for (const [p, input] of inputs) {
          const raw = input.value.trim();
          if (raw === '') continue;
          const inherited = first.inherited[p];
          if (typeof inherited === 'boolean') partial[p] = raw === 'true';
          else if (typeof inherited === 'number') {
            const n = Number(raw);
            if (!Number.isFinite(n)) { box.error(t('err.number', { field: labels[`${rule}.${p}`] ?? p })); input.focus(); return; }
            partial[p] = n;
          } else partial[p] = raw;
        }
        const overrides = { ...data.overrides };
        if (Object.keys(partial).length) overrides[rule] = partial;
        else delete overrides[rule];
        const next = await busy(save, box, labels, () => ctx.api.put<SiteRules>(`${url}?lang=${lang()}`, overrides));
        if (!next || stopped) return;
        ctx.status(t('rules.saved', { rule: first.name }));
        render(next, rule);
      },
    },
    h('table', { class: 'admin-table rule-table' },
      h('thead', null, h('tr', null, [t('rules.param'), t('rules.inherited'), t('rules.site'), t('rules.effective')].map((c) => h('th', { scope: 'col' }, c)))),
      h('tbody', null, rows)),
    box.el,
    h('div', { class: 'actions' }, save));
    const count = Object.keys(own).length;
    return h('details', { class: 'panel rule', 'data-rule': rule, open },
      h('summary', null, h('strong', null, first.name), ' ',
        h('span', { class: 'muted small' }, t('rules.kinds', { kinds: entries.map((e) => kindLabel(e.kind)).join(lang() === 'en' ? ', ' : '、') })),
        count ? h('span', { class: 'badge sev-warning' }, t('rules.overridden', { count })) : null),
      form);
  };

  void (async () => {
    try {
      const data = await ctx.api.get<SiteRules>(url, { lang: lang() });
      if (!stopped) render(data);
    } catch (err) {
      if (!stopped) listBox.error(errorText(err));
    }
  })();

  replace(root, h('p', { class: 'muted' }, t('rules.help')), listBox.el, list);
  return () => { stopped = true; };
}
