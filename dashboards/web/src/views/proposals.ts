/// <reference lib="dom" />
import { hazardOf } from '../../../../core/alarms.js';
import { ApiError } from '../api.js';
import { h } from '../dom.js';
import { roleLabel } from '../format.js';
import { t, tOr } from '../i18n/index.js';
import { can, deviceName, type Ctx } from '../store.js';
import { isActive, type Incident, type Proposal } from '../types.js';
import { timeText } from './alarm-common.js';

/**
 * An incident's proposed responses (core/responses.ts) in the feed: what the site's policy proposes
 * to do (close a household meter's valve, open a circuit's breaker), on which device, whether it
 * waits for a person or acts by itself at a time, an interlock when the circuit must keep power,
 * and the command's state once sent. 确认 / 拒绝 only for the roles that may send commands
 * (ANJU_COMMAND_ROLE, operator by default) and only while the proposal is open and the incident active.
 */

/** A water alarm's command goes to a valve, an electrical one's to a breaker. */
const valveLike = (p: Proposal) => hazardOf(p.alarmType) === 'water';

function what(p: Proposal): string {
  return tOr(`proposal.cmd.${valveLike(p) ? 'valve' : 'switch'}.${p.command}`, p.command);
}

function stateText(ctx: Ctx, p: Proposal): (HTMLElement | string)[] {
  const command = p.commandStatus ? ` · ${t('proposal.command', { status: tOr(`command.status.${p.commandStatus}`, p.commandStatus) })}` : '';
  const by = p.decidedBy ? ` · ${p.decidedBy}` : '';
  return [tOr(`proposal.status.${p.status}`, p.status), by, command, p.commandMessage && p.commandStatus !== 'succeeded' ? ` · ${p.commandMessage}` : ''];
}

async function decide(ctx: Ctx, i: Incident, p: Proposal, action: 'confirm' | 'reject'): Promise<void> {
  try {
    const answer = await ctx.api.post<Incident>(`/api/incidents/${encodeURIComponent(i.id)}/proposals/${encodeURIComponent(p.id)}/${action}`);
    ctx.incidents.upsert(answer);
    ctx.status(t(action === 'confirm' ? 'proposal.done.confirm' : 'proposal.done.reject'));
  } catch (err) {
    const message = err instanceof ApiError && err.status === 403 ? t('common.forbidden', { role: roleLabel(ctx.session.role) }) : (err as Error).message;
    ctx.status(t('action.failed', { message }));
  }
}

export function proposalList(ctx: Ctx, i: Incident): HTMLElement | null {
  const proposals = i.proposals ?? [];
  if (proposals.length === 0) return null;
  const mayAct = can(ctx.session.role, 'command') && isActive(i.status);
  return h('ul', { class: 'proposals', 'aria-label': t('proposal.title') }, proposals.map((p) => {
    const label = t('proposal.describe', { what: what(p), device: deviceName(ctx, p.device) });
    const open = p.status === 'proposed';
    return h('li', {
      class: `proposal proposal-${p.status}`, 'data-proposal-id': p.id, 'data-proposal-status': p.status, 'data-command-status': p.commandStatus ?? '',
    },
    h('span', { class: 'proposal-what' }, h('strong', null, `${t('proposal.title')}：`), label),
    p.interlock ? h('span', { class: 'proposal-interlock', title: p.interlock.reason }, ` ⚠ ${t('proposal.interlock', { standard: p.interlock.standard })}`) : null,
    open && p.mode === 'auto_after' && p.autoAt ? h('span', { class: 'proposal-auto' }, ` · ${t('proposal.autoAt')} `, timeText(ctx, p.autoAt)) : null,
    h('span', { class: 'proposal-state', 'aria-live': 'polite' }, ' · ', ...stateText(ctx, p)),
    open && mayAct ? h('span', { class: 'proposal-actions' },
      h('button', {
        type: 'button', class: 'btn primary', 'data-action': 'confirm-proposal', 'data-focus': `pconfirm:${p.id}`,
        'aria-label': t('proposal.confirmLabel', { proposal: label }), onclick: () => void decide(ctx, i, p, 'confirm'),
      }, t('proposal.confirm')),
      h('button', {
        type: 'button', class: 'btn', 'data-action': 'reject-proposal', 'data-focus': `preject:${p.id}`,
        'aria-label': t('proposal.rejectLabel', { proposal: label }), onclick: () => void decide(ctx, i, p, 'reject'),
      }, t('proposal.reject'))) : null);
  }));
}
