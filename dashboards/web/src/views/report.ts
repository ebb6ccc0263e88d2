/// <reference lib="dom" />
import { h, replace, uid } from '../dom.js';
import { addDays, localDate } from '../format.js';
import { lang, t } from '../i18n/index.js';
import type { Ctx } from '../store.js';

/**
 * `#/report`: the savings report (api/routes/api/reports), rendered by the server as printable
 * HTML and embedded through `srcdoc` — an iframe cannot send the bearer header, so the page
 * fetches it and hands the text over. The frame is sandboxed without scripts (the report has
 * none). Default periods: the last 30 days against the 365 days before them (the baseline CalTRACK
 * needs for a claim), as local dates at the site; the API's own message is shown when a period has
 * no data.
 */

export function reportView(root: HTMLElement, ctx: Ctx): () => void {
  let stopped = false;
  const today = localDate(Date.now(), ctx.site.timezone);
  const dateInput = (label: string, value: string) => {
    const id = uid('date');
    const input = h('input', { id, type: 'date', required: true, value });
    return { input, el: h('div', { class: 'field' }, h('label', { for: id }, label), input) };
  };
  const from = dateInput(t('report.from'), addDays(today, -30));
  const to = dateInput(t('report.to'), today);
  const bFrom = dateInput(t('report.from'), addDays(today, -30 - 365));
  const bTo = dateInput(t('report.to'), addDays(today, -30));
  const out = h('div', { class: 'report-out' });
  const printBtn = h('button', { type: 'button', class: 'btn', hidden: true, onclick: () => frame?.contentWindow?.print() }, t('report.print'));
  let frame: HTMLIFrameElement | undefined;

  const generate = async () => {
    replace(out, h('p', { class: 'muted' }, t('common.loading')));
    printBtn.hidden = true;
    try {
      const html = await ctx.api.text('/api/reports/savings', {
        site: ctx.site.id, from: from.input.value, to: to.input.value, baselineFrom: bFrom.input.value, baselineTo: bTo.input.value, format: 'html', lang: lang(),
      });
      if (stopped) return;
      frame = h('iframe', { class: 'report-frame', title: t('report.frame'), sandbox: 'allow-same-origin allow-modals' });
      frame.srcdoc = html;
      replace(out, frame);
      printBtn.hidden = false;
    } catch (err) {
      if (!stopped) replace(out, h('p', { class: 'error', role: 'alert' }, t('report.failed', { message: (err as Error).message })));
    }
  };

  replace(root,
    h('h1', { class: 'page-title' }, t('report.title'), ' · ', ctx.site.name),
    h('form', { class: 'panel report-form', onsubmit: (e: Event) => { e.preventDefault(); void generate(); } },
      h('fieldset', null, h('legend', null, t('report.period')), from.el, to.el),
      h('fieldset', null, h('legend', null, t('report.baseline')), bFrom.el, bTo.el),
      h('div', { class: 'actions' }, h('button', { type: 'submit', class: 'btn primary' }, t('report.generate')), printBtn),
      h('p', { class: 'muted small' }, t('report.help'))),
    out);
  // Not generated on arrival: a report reads weeks of data, so it waits for the user's periods.
  return () => { stopped = true; };
}
