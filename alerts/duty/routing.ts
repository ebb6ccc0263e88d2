import type { Incident } from '../../storage/incidents/contract.js';
import { CodedError } from '../../core/errors.js';
import { AlarmError, type TimelineEntry } from '../contracts.js';
import type { IncidentTransition } from '../incidents/lifecycle.js';
import type { PersonDelivery } from './contract.js';

/**
 * Routing an incident to people, as pure functions on the incident (like ../incidents/lifecycle.ts):
 * the hand-over to the next person of its chain and the record of a page. Everything the router
 * needs to go on after a restart is on the incident's timeline: the chain it was given, how far
 * along it is, and since when — so nothing of it lives only in memory.
 */

/** A routing step already taken (by another check, or before a restart): nothing to do. */
export class StepTakenError extends CodedError {
  override name = 'StepTakenError';
  constructor(message: string) {
    super('step_taken', 'conflict', message);
  }
}

/** The actor of every routing step on a timeline. */
export const rosterActor = 'rule:roster';

export interface RouteState {
  /** The chain the incident was given when it was raised (account ids, the managers last). */
  readonly chain: readonly string[];
  /** Index in `chain` of the person it is handed to now. */
  readonly step: number;
  /** When it was handed to them. */
  readonly ts: number;
}

const isRouting = (t: TimelineEntry): boolean => t.event === 'assigned' && t.actor === rosterActor && Array.isArray(t.details?.chain);

/** Where the incident stands on its chain; undefined when it was never routed (no roster, or before routing). */
export function routeState(i: Pick<Incident, 'timeline'>): RouteState | undefined {
  const last = [...i.timeline].reverse().find(isRouting);
  if (!last) return undefined;
  return { chain: last.details?.chain as string[], step: Number(last.details?.step ?? 0), ts: last.ts };
}

/**
 * Since when the person it is handed to has had to acknowledge: the hand-over, or later, the
 * moment it became unacknowledged again (its severity or level rose after an acknowledgement).
 */
export function waitingSince(i: Pick<Incident, 'timeline'>, state: RouteState): number {
  let since = state.ts;
  for (const t of i.timeline) if (t.event === 'severity_changed' && t.ts > since) since = t.ts;
  return since;
}

/** Whether a page of this step was recorded already (a restart resends only what was not). */
export const notifiedAt = (i: Pick<Incident, 'timeline'>, step: number): boolean =>
  i.timeline.some((t) => t.event === 'notified' && t.actor === rosterActor && t.details?.step === step);

/**
 * Hands the incident to `chain[step]`. Step 0 routes a new incident (refused when it was routed
 * already); a later step escalates one that is still unacknowledged and still at `step - 1` —
 * what was decided on is checked again as the change is applied, so a check that raced an
 * acknowledgement or another check changes nothing (AlarmError, which the router skips).
 */
export function handOver(
  i: Incident, chain: readonly string[], step: number, ts: number, text: { source?: string; waitedMin?: number } = {},
): IncidentTransition {
  const to = chain[step];
  if (to === undefined) throw new AlarmError('invalid', `no step ${step} in the chain of incident ${i.id}`);
  const state = routeState(i);
  const previous = i.assignee ? { previous: i.assignee } : {};
  if (step === 0) {
    if (state) throw new StepTakenError(`incident ${i.id} was routed already`);
    const assigned: TimelineEntry = {
      ts, event: 'assigned', actor: rosterActor, details: { assignee: to, ...previous, step, chain: [...chain], ...(text.source ? { source: text.source } : {}) },
    };
    return { incident: { ...i, assignee: to, lastUpdateTs: Math.max(i.lastUpdateTs, ts), timeline: [...i.timeline, assigned] }, event: { type: 'assigned', ts } };
  }
  if (i.status !== 'active_unack') throw new AlarmError('not_active', `incident ${i.id} is ${i.status}: only unacknowledged incidents are handed on`);
  if (state?.step !== step - 1) throw new StepTakenError(`incident ${i.id} is not at step ${step - 1} of its chain`);
  const level = i.escalationLevel + 1;
  const escalated: TimelineEntry = {
    ts, event: 'escalated', actor: rosterActor,
    text: `${text.waitedMin ?? '?'} 分钟未确认，转交 ${to} (not acknowledged in ${text.waitedMin ?? '?'} min: handed to ${to})`,
    details: { level, to, step },
  };
  const assigned: TimelineEntry = { ts, event: 'assigned', actor: rosterActor, details: { assignee: to, ...previous, step, chain: [...state.chain] } };
  return {
    incident: { ...i, assignee: to, escalationLevel: level, lastUpdateTs: Math.max(i.lastUpdateTs, ts), timeline: [...i.timeline, escalated, assigned] },
    event: { type: 'escalated', ts },
  };
}

/** Records how a page went: one `notified` entry per delivery, or one saying nothing could reach the person. */
export function recordPage(i: Incident, person: string, step: number, deliveries: readonly PersonDelivery[], ts: number): IncidentTransition {
  const entries: TimelineEntry[] = deliveries.length > 0
    ? deliveries.map((d) => ({
      ts, event: 'notified', actor: rosterActor,
      details: { person, step, channel: d.channel, target: d.target, outcome: d.outcome, ...(d.detail ? { detail: d.detail } : {}) },
    }))
    : [{ ts, event: 'notified', actor: rosterActor, text: `没有可联系 ${person} 的渠道 (no channel reaches ${person})`, details: { person, step, outcome: 'unreachable' } }];
  return { incident: { ...i, lastUpdateTs: Math.max(i.lastUpdateTs, ts), timeline: [...i.timeline, ...entries] }, event: { type: 'updated', ts } };
}
