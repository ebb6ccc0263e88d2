import { isActive } from '../../core/alarms.js';
import { commandStatuses, isFinalStatus, type Command } from '../../core/commands.js';
import { ResponseError, type Proposal, type ProposalDraft, type ResponseStep } from '../../core/responses.js';
import type { Incident } from '../../storage/incidents/contract.js';
import type { IncidentTransition } from '../incidents/lifecycle.js';

/**
 * What happens to an incident's proposals, as incident transitions (pure, like lifecycle.ts): each
 * is stored with the incident in one transaction, appears on its timeline as a `response` entry
 * (details.step says which) and goes out as an `updated` incident event carrying `response`.
 */

/** The actor of an automatic action on timelines and commands. */
export const AUTO_ACTOR = 'auto:response';

const proposalDetails = (p: Proposal, step: ResponseStep, extra: Record<string, unknown> = {}) => ({
  proposalId: p.id, step, device: p.device, command: p.command,
  ...(p.commandId ? { commandId: p.commandId } : {}),
  ...(p.interlock ? { interlock: p.interlock.code, standard: p.interlock.standard } : {}), ...extra,
});

function withProposal(
  i: Incident, p: Proposal, ts: number, step: ResponseStep, actor: string, extra: { timeline: boolean; text?: string },
): IncidentTransition {
  const proposals = (i.proposals ?? []).map((x) => (x.id === p.id ? p : x));
  const timeline = extra.timeline
    ? [...i.timeline, { ts, event: 'response' as const, actor, details: proposalDetails(p, step), ...(extra.text ? { text: extra.text } : {}) }]
    : i.timeline;
  return {
    incident: { ...i, proposals, timeline, lastUpdateTs: Math.max(i.lastUpdateTs, ts) },
    event: { type: 'updated', ts, response: { proposalId: p.id, step } },
  };
}

function find(i: Incident, id: string): Proposal {
  const p = i.proposals?.find((x) => x.id === id);
  if (!p) throw new ResponseError('proposal_not_found', 'not_found', `incident ${i.id} has no proposal ${id}`);
  return p;
}

function open(i: Incident, id: string): Proposal {
  const p = find(i, id);
  if (p.status !== 'proposed') throw new ResponseError('proposal_decided', 'conflict', `proposal ${id} is ${p.status} already`);
  if (!isActive(i.status)) throw new ResponseError('incident_not_active', 'conflict', `incident ${i.id} is cleared: its proposals are no longer carried out`);
  return p;
}

/**
 * Drafts that are not yet on the incident as proposals: a device and command proposed once stay
 * proposed once while that proposal is open or its command is on its way or succeeded (a repeat of
 * the alarm proposes nothing new); after a rejection, a withdrawal or a failed command a new alarm
 * change may propose it again.
 */
export function newDrafts(i: Incident, drafts: readonly ProposalDraft[]): ProposalDraft[] {
  const standing = (p: Proposal) => p.status === 'proposed'
    || ((p.status === 'confirmed' || p.status === 'performed') && p.commandStatus !== 'failed' && p.commandStatus !== 'expired');
  return drafts.filter((d) => !(i.proposals ?? []).some((p) => p.device === d.device && p.command === d.command && standing(p)));
}

/** Adds proposals to an incident being raised or updated (same transition: the event carries them). */
export function addProposals(t: IncidentTransition, drafts: readonly ProposalDraft[], ts: number, newId: () => string): IncidentTransition {
  if (drafts.length === 0) return t;
  const added: Proposal[] = drafts.map((d) => ({
    id: newId(), alarmId: d.alarmId, alarmType: d.alarmType, device: d.device, command: d.command, mode: d.mode, status: 'proposed', createdAt: ts,
    ...(d.autoAfterMs !== undefined ? { autoAt: ts + d.autoAfterMs } : {}), ...(d.interlock ? { interlock: d.interlock } : {}),
    ...(d.ttlSeconds !== undefined ? { ttlSeconds: d.ttlSeconds } : {}),
  }));
  const timeline = [...t.incident.timeline, ...added.map((p) => ({
    ts, event: 'response' as const, actor: 'rule:response',
    details: proposalDetails(p, 'proposed', { mode: p.mode, ...(p.autoAt !== undefined ? { autoAt: p.autoAt } : {}) }),
  }))];
  return {
    incident: { ...t.incident, proposals: [...(t.incident.proposals ?? []), ...added], timeline },
    // The event is the raise or the join; it names the first proposal it made.
    event: { ...t.event, response: { proposalId: added[0]!.id, step: 'proposed' } },
  };
}

/** A person confirms: the command id is chosen now, before it is sent, so a restart in between sends it once. */
export function confirmProposal(i: Incident, id: string, actor: string, ts: number, commandId: string, sentBy = actor): IncidentTransition {
  const p = open(i, id);
  return withProposal(i, { ...p, status: 'confirmed', decidedAt: ts, decidedBy: actor, sentBy, commandId }, ts, 'confirmed', actor, { timeline: true });
}

/** Carried out automatically: only an `auto_after` proposal without an interlock, once its time has come. */
export function performProposal(i: Incident, id: string, ts: number, commandId: string): IncidentTransition {
  const p = open(i, id);
  if (p.mode !== 'auto_after' || p.autoAt === undefined || p.interlock) {
    throw new ResponseError('not_automatic', 'conflict', `proposal ${id} waits for a person${p.interlock ? `: ${p.interlock.reason} (${p.interlock.standard})` : ''}`);
  }
  if (ts < p.autoAt) throw new ResponseError('not_due', 'conflict', `proposal ${id} is carried out automatically from ${new Date(p.autoAt).toISOString()}`);
  const performed: Proposal = { ...p, status: 'performed', decidedAt: ts, decidedBy: AUTO_ACTOR, sentBy: AUTO_ACTOR, commandId };
  return withProposal(i, performed, ts, 'performed', AUTO_ACTOR, { timeline: true });
}

export function rejectProposal(i: Incident, id: string, actor: string, ts: number, reason?: string): IncidentTransition {
  const p = open(i, id);
  const rejected: Proposal = { ...p, status: 'rejected', decidedAt: ts, decidedBy: actor, ...(reason ? { reason } : {}) };
  return withProposal(i, rejected, ts, 'rejected', actor, { timeline: true, ...(reason ? { text: reason } : {}) });
}

/**
 * An automatic proposal that may not be carried out after all (the site stopped allowing it, or an
 * interlock found when it came due): it waits for a person from now on.
 */
export function demoteProposal(i: Incident, id: string, ts: number, why: string): IncidentTransition {
  const p = open(i, id);
  const { autoAt: _a, ...rest } = p;
  return withProposal(i, { ...rest, mode: 'propose' }, ts, 'proposed', 'rule:response', { timeline: true, text: why });
}

/**
 * The command of a proposal moved on. Final outcomes go on the timeline; the steps before them
 * (queued, sent, delivered) only update what the proposal shows. Undefined when nothing changed.
 */
export function commandChanged(
  i: Incident, id: string, c: Pick<Command, 'id' | 'status' | 'message' | 'state'>, ts: number,
): IncidentTransition | undefined {
  const p = find(i, id);
  if (p.commandId !== c.id || p.commandStatus === c.status || (p.commandStatus && isFinalStatus(p.commandStatus))) return undefined;
  // A status never goes back: the dispatcher's answer to send() (`sent`) can come after the device's
  // `delivered` event, and a copy read at start-up after a newer event.
  if (p.commandStatus && commandStatuses.indexOf(c.status) < commandStatuses.indexOf(p.commandStatus)) return undefined;
  const next: Proposal = {
    ...p, commandStatus: c.status,
    ...(c.message !== undefined ? { commandMessage: c.message } : {}), ...(c.state !== undefined ? { commandState: c.state } : {}),
  };
  const final = isFinalStatus(c.status);
  const step: ResponseStep = final ? (c.status as 'succeeded' | 'failed' | 'expired') : 'command';
  return withProposal(i, next, ts, step, 'rule:response', { timeline: final, ...(final && c.message ? { text: c.message } : {}) });
}

/** The incident cleared: what nobody decided is withdrawn (no longer needed, never carried out). */
export function withdrawOpen(proposals: Incident['proposals'], ts: number): Pick<Incident, 'proposals'> {
  if (!proposals?.some((p) => p.status === 'proposed')) return proposals ? { proposals } : {};
  return { proposals: proposals.map((p) => (p.status === 'proposed' ? { ...p, status: 'withdrawn', decidedAt: ts, decidedBy: 'rule:incident' } : p)) };
}
