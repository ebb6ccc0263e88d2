import { randomUUID } from 'node:crypto';
import type { Logger } from 'pino';
import { Counter, Gauge, type Registry } from 'prom-client';
import { backoffDelay, getOrCreateMetric, sleep } from '../../core/util/index.js';
import { hazardOf } from '../../core/alarms.js';
import {
  ActiveIncidentConflictError, IncidentChangedError, incidentKey, type Incident, type IncidentKey as IncidentKeyParts,
  type IncidentEvent, type IncidentQuery, type IncidentStore,
} from '../../storage/incidents/contract.js';
import type { Page } from '../../storage/state/contract.js';
import { AlarmError, activeStatuses, isActive, type AlarmEvent } from '../contracts.js';
import type { AlertEngine } from '../engine.js';
import type { Alarm } from '../../core/alarms.js';
import type { ProposalDraft } from '../../core/responses.js';
import { addProposals, newDrafts } from '../responses/transitions.js';
import {
  ackIncident, allAcked, applyAlarm, assignIncident, clearIncident, coalesceQuietUpdates, commentIncident, escalateIncident, lastAckActor,
  openIncident, settled,
  type FireSignalParams, type IncidentTransition,
} from './lifecycle.js';

/**
 * Incidents over alarms (DESIGN §5): every stored alarm event is correlated into the one active
 * incident of its (site, building, hazard) — opening it, joining it, or changing a member — and
 * people acknowledge, assign, comment on and clear the incident as one, the engine doing the same
 * to each of its alarms (which keep their own timelines).
 *
 * One queue decides, in alarm event seq order, against the active incidents in memory; each batch
 * of decisions is one IncidentStore transaction, which also stores the alarm seq it got to (the
 * watermark). Only then do listeners (SSE, notifiers) see the events. So:
 * - one active incident per key: the queue decides one thing at a time, and the store refuses a
 *   second active one anyway (another writer: its incident is loaded and the batch decided again);
 * - restart: the alarm events after the watermark are replayed through the same decisions before
 *   live ones (held while the replay runs, deduplicated by seq) — nothing missed, nothing twice;
 * - a store that refuses a batch for another reason: the batch is retried with backoff, the
 *   alarm events waiting behind it are kept, and nothing is published before it is stored.
 */

export interface IncidentsConfig {
  /** An incident whose alarms are all clear closes after this long (a new alarm within it rejoins). Default 5 min. */
  readonly settleMs: number;
  /** First retry delay of a refused store write; doubles to 30 s. Default 500 ms. */
  readonly retryMs: number;
  /**
   * Alarm events that change no incident (repeats, mostly) move the stored watermark at most this
   * often (and on close): a write per repeat would double the database's commits for nothing, and
   * a restart merely replays those few seconds of events, which decide nothing again. Default 5 s.
   */
  readonly watermarkEveryMs: number;
  /**
   * While alarm events keep coming, each incident commit is followed by a pause, and what arrives
   * meanwhile joins the next commit: back to back, incident commits would follow alarm commits one
   * for one, and the embedded database commits one transaction at a time, so they would slow the
   * alarms down; and a growing incident is stored whole with each event. The pause keeps the commits
   * to `commitShare` of the time (a commit of 35 ms is followed by 35 ms at ½), at most
   * `maxCommitPauseMs`: short while commits are cheap, so an incident event follows its alarm
   * closely, and long when they are dear (a storm of alarms joining one incident), so they come
   * fewer and larger. Costs an incident event at most the pause in latency. Default 100 ms; 0: none.
   */
  readonly maxCommitPauseMs: number;
  /** The share of the time incident commits may take while alarm events keep coming, in (0, 1]. Default ½. */
  readonly commitShare: number;
  /**
   * Quiet updates of one incident decided in one commit (alarms joining, `isQuietUpdate`) are recorded
   * as one event, the last. Which changes share a commit depends on timing, so a test that compares
   * event lists turns this off: one event per change. Default true.
   */
  readonly coalesceQuietUpdates: boolean;
}

export const defaultIncidentsConfig: IncidentsConfig = {
  settleMs: 5 * 60_000, retryMs: 500, watermarkEveryMs: 5_000, maxCommitPauseMs: 100, commitShare: 0.5,
  coalesceQuietUpdates: true,
};

export interface IncidentsDeps {
  engine: Pick<AlertEngine, 'subscribe' | 'eventsSince' | 'ack' | 'clear'>;
  store: IncidentStore;
  logger: Logger;
  metrics: Registry;
  /** Time of human actions and of the settle check. */
  clock: () => number;
  newId?: () => string;
  /**
   * What the site's response policy proposes for an alarm now active in this incident
   * (alerts/responses/policies.ts); the proposals are added in the same transition, so the raise or
   * join that made them carries them. Synchronous: policies and the registry are in memory.
   */
  propose?: (incident: Incident, alarm: Alarm) => readonly ProposalDraft[];
  /** Each device's `fire_risk` settings (the engine's rules configuration): what its alarms confirm of a fire. Default: the rule's defaults. */
  fireSignal?: FireSignalParams;
}

export type IncidentListener = (event: IncidentEvent) => void;

export interface Incidents {
  start(): Promise<void>;
  /** Active incidents, from memory. */
  active(): Incident[];
  get(id: string): Promise<Incident | undefined>;
  list(query: IncidentQuery): Promise<Page<Incident>>;
  eventsSince(seq: number, limit?: number): Promise<IncidentEvent[]>;
  ack(id: string, actor: string): Promise<Incident>;
  assign(id: string, assignee: string, actor: string): Promise<Incident>;
  comment(id: string, actor: string, text: string): Promise<Incident>;
  clear(id: string, actor: string): Promise<Incident>;
  /** For the escalation scheduler: one level up, or with `toLevel` to that level unless it is reached already (AlarmError already_escalated). */
  escalate(id: string, actor: string, text?: string, toLevel?: number): Promise<Incident>;
  /**
   * Any other change of the incident's lifecycle, through the same queue as every other change:
   * a hand-over along the roster or a person notified (alerts/duty), a proposal of the site's
   * response policy and what became of it (alerts/responses). `change` runs against the incident
   * as it then stands; it may refuse (throw an AlarmError) when what it was decided on no longer
   * holds, or answer undefined when there is nothing to change.
   */
  transition(id: string, change: (i: Incident) => IncidentTransition | undefined): Promise<Incident>;
  /** Closes settled incidents (call with the engine's tick). */
  tick(now: number): Promise<void>;
  /**
   * Cluster: takes what other writers (the other nodes) stored since the last call — read from the
   * store's event log — into the incidents held here, so this node decides, escalates and routes on
   * them as they stand. Call on each notification of a committed incident event and now and then
   * (a lost notification). Calls run one at a time; a change this node wrote itself is not re-read.
   */
  follow(): Promise<void>;
  /** Listeners run after each event is stored, in seq order; a throwing listener is logged. */
  subscribe(listener: IncidentListener): () => void;
  /** Resolves when every alarm event seen so far is decided, stored and published. */
  idle(): Promise<void>;
  /** For `/health`: what waits to be decided and stored, and whether the store is refusing it. */
  stats(): IncidentsStats;
  close(): Promise<void>;
}

export interface IncidentsStats {
  /** Alarm events and actions waiting for the next commit. */
  readonly waiting: number;
  /** When the store began refusing the batch now being retried (epoch ms); absent while it is not. */
  readonly refusingSince?: number;
  /** Commits the store refused since start (each retried). */
  readonly refusedTotal: number;
}

type Job =
  | { readonly kind: 'alarm'; readonly event: AlarmEvent }
  | {
    readonly kind: 'act'; readonly id: string; readonly change: (i: Incident) => IncidentTransition | undefined;
    /** The stored version, when the incident was not active as the action was asked for. */
    readonly stored?: Incident;
    readonly done: (r: { ok: Incident } | { err: unknown }) => void;
  }
  | { readonly kind: 'tick'; readonly now: number }
  /** Incidents as another writer stored them (another node, in a cluster): taken where newer than what is held. */
  | { readonly kind: 'sync'; readonly incidents: readonly Incident[] };

/**
 * Takes incidents as stored by another writer into a map of active incidents by key and one of
 * closed ones by id, each where it is newer than the copy held (by revision; a copy never stored,
 * without one, is older than any stored version).
 */
function takeStored(active: Map<string, Incident>, closed: Map<string, Incident>, stored: readonly Incident[]): void {
  for (const i of stored) {
    const key = incidentKey(i);
    const held = active.get(key)?.id === i.id ? active.get(key) : closed.get(i.id) ?? [...active.values()].find((x) => x.id === i.id);
    if (held?.rev !== undefined && (i.rev === undefined || i.rev <= held.rev)) continue;
    if (isActive(i.status)) {
      active.set(key, i);
      closed.delete(i.id);
    } else {
      if (active.get(key)?.id === i.id) active.delete(key);
      closed.delete(i.id);
      closed.set(i.id, i);
    }
  }
}

export function createIncidents(config: IncidentsConfig, deps: IncidentsDeps): Incidents {
  if (!(config.commitShare > 0 && config.commitShare <= 1)) throw new RangeError(`commitShare must be in (0, 1], got ${config.commitShare}`);
  if (!(config.maxCommitPauseMs >= 0)) throw new RangeError(`maxCommitPauseMs must be 0 or more, got ${config.maxCommitPauseMs}`);
  const log = deps.logger.child({ part: 'incidents' });
  const newId = deps.newId ?? randomUUID;
  const reg = deps.metrics;
  const opened = getOrCreateMetric(reg, 'anju_incidents_opened_total', () => new Counter({
    name: 'anju_incidents_opened_total', help: 'Incidents opened, by hazard', labelNames: ['hazard'], registers: [reg],
  }));
  const activeGauge = getOrCreateMetric(reg, 'anju_incidents_active', () => new Gauge({
    name: 'anju_incidents_active', help: 'Active incidents, by hazard and level', labelNames: ['hazard', 'level'], registers: [reg],
  }));
  const conflicts = getOrCreateMetric(reg, 'anju_incident_write_conflicts_total', () => new Counter({
    name: 'anju_incident_write_conflicts_total',
    help: 'Incident writes refused because another writer (another node) changed the incident (changed) or opened one under its key (active_key) first; decided again',
    labelNames: ['kind'], registers: [reg],
  }));
  let conflictsInARow = 0;
  /** The highest incident event seq this node has written or followed (cluster: what `follow` reads after). */
  let followedSeq = 0;
  /** Active incidents by key (site/building/hazard). */
  const active = new Map<string, Incident>();
  /** Incidents closed lately, latest version: an ack or comment right after the close sees it. Bounded. */
  const closedRecently = new Map<string, Incident>();
  const listeners = new Set<IncidentListener>();
  const jobs: Job[] = [];
  /** The highest alarm seq decided (stored with the batch that decided it). */
  let applied = 0;
  let storedWatermark = 0;
  /** When the watermark was last stored (monotonic ms). */
  let watermarkAt = 0;
  let running: Promise<void> | undefined;
  let replaying = true;
  const held: AlarmEvent[] = [];
  let started = false;
  let closing = false;
  let closed = false;
  let unsubscribe: (() => void) | undefined;

  const setGauge = () => {
    activeGauge.reset();
    for (const i of active.values()) activeGauge.inc({ hazard: i.hazard, level: i.level });
  };

  function publish(events: readonly IncidentEvent[]): void {
    for (const e of events) {
      if (e.type === 'raised') opened.inc({ hazard: e.incident.hazard });
      for (const l of listeners) {
        try {
          l(e);
        } catch (err) {
          log.error({ err, seq: e.seq }, 'incident listener failed');
        }
      }
    }
  }

  /** Decides a batch of jobs against a draft of the active map; human-action jobs are answered after the store took them. */
  function decide(batch: readonly Job[], draft: Map<string, Incident>): {
    transitions: IncidentTransition[]; answers: Array<(revised: (i: Incident) => Incident) => void>; maxSeq: number; closedNow: Map<string, Incident>;
  } {
    const transitions: IncidentTransition[] = [];
    const answers: Array<(revised: (i: Incident) => Incident) => void> = [];
    let maxSeq = applied;
    const closedNow = new Map<string, Incident>();
    const put = (t: IncidentTransition) => {
      transitions.push(t);
      const key = incidentKey(t.incident);
      if (isActive(t.incident.status)) draft.set(key, t.incident);
      else {
        if (draft.get(key)?.id === t.incident.id) draft.delete(key);
        closedNow.set(t.incident.id, t.incident);
      }
    };
    /** The transition with what the response policy proposes for an active alarm (times on the clock: a device's may be off). */
    const proposing = (t: IncidentTransition, a: Alarm): IncidentTransition => {
      if (!deps.propose || !isActive(a.status)) return t;
      try {
        return addProposals(t, newDrafts(t.incident, deps.propose(t.incident, a)), deps.clock(), newId);
      } catch (err) {
        log.error({ err, incident: t.incident.id, alarm: a.id }, 'response policy failed; the incident goes on without a proposal');
        return t;
      }
    };
    for (const job of batch) {
      if (job.kind === 'alarm') {
        const e = job.event;
        if (e.seq <= applied) continue;
        maxSeq = Math.max(maxSeq, e.seq);
        const a = e.alarm;
        const key = incidentKey({ site: a.site, building: a.building, hazard: hazardOf(a.type) });
        const current = draft.get(key);
        if (current?.members.some((m) => m.id === a.id)) {
          const changed = applyAlarm(current, a, e.ts, deps.fireSignal);
          if (!changed) continue;
          const t = proposing(changed, a);
          put(t);
          // Every alarm acknowledged, by whoever did it through the alarms: the incident is too.
          if (t.incident.status === 'active_unack' && e.type === 'acked' && allAcked(t.incident.members)) put(ackIncident(t.incident, e.ts, lastAckActor(a)));
        } else if (e.type === 'raised' && isActive(a.status)) {
          put(proposing(current ? (applyAlarm(current, a, e.ts, deps.fireSignal) as IncidentTransition) : openIncident(newId(), a, e.ts, deps.fireSignal), a));
        }
        // Anything else is an alarm of an incident already closed (its ack, a late clear): nothing to decide.
      } else if (job.kind === 'tick') {
        for (const i of [...draft.values()]) if (settled(i, job.now, config.settleMs)) put(clearIncident(i, job.now, 'rule:incident'));
      } else if (job.kind === 'sync') {
        takeStored(draft, closedNow, job.incidents);
      } else {
        const current = [...draft.values()].find((i) => i.id === job.id) ?? closedNow.get(job.id) ?? closedRecently.get(job.id) ?? job.stored;
        if (!current) {
          answers.push(() => job.done({ err: new AlarmError('not_found', `no incident ${job.id}`) }));
          continue;
        }
        try {
          // Undefined: nothing to change (a command event already recorded); answered as it is.
          const t = job.change(current);
          if (t) put(t);
          answers.push((revised) => job.done({ ok: revised(t?.incident ?? current) }));
        } catch (err) {
          answers.push(() => job.done({ err }));
        }
      }
    }
    return { transitions: config.coalesceQuietUpdates ? coalesceQuietUpdates(transitions) : transitions, answers, maxSeq, closedNow };
  }

  /**
   * A change of an alarm whose incident this node does not hold with it — another node opened the
   * incident, or the alarm joined it there (a cluster) — is decided on the incident as stored: read
   * it first. (On one node this finds nothing: the incident has closed.) An alarm raised earlier in
   * the same batch is decided on the draft with its raise: under a steady alarm load most batches
   * hold raises and the clears right behind them, and reading the store for those cost every batch a
   * query on the state connection (12–66 ms at half load, BENCHMARKS.md).
   */
  async function readUnheld(batch: readonly Job[]): Promise<void> {
    const keys = new Map<string, IncidentKeyParts>();
    const raisedHere = new Set<string>();
    for (const j of batch) {
      if (j.kind !== 'alarm' || j.event.seq <= applied) continue;
      const a = j.event.alarm;
      if (j.event.type === 'raised') {
        raisedHere.add(a.id);
        continue;
      }
      if (raisedHere.has(a.id)) continue;
      const parts = { site: a.site, building: a.building, hazard: hazardOf(a.type) };
      const key = incidentKey(parts);
      if (!active.get(key)?.members.some((m) => m.id === a.id)) keys.set(key, parts);
    }
    if (keys.size === 0) return;
    const found = await Promise.all([...keys.values()].map((k) => deps.store.findActive(k)));
    takeStored(active, closedRecently, found.filter((i): i is Incident => i !== undefined));
  }

  async function loadActive(keys?: ReadonlySet<string>): Promise<void> {
    for (let offset = 0; ; offset += 1_000) {
      const page = await deps.store.list({ status: activeStatuses, limit: 1_000, offset });
      for (const i of page.items) if (!keys || keys.has(incidentKey(i))) active.set(incidentKey(i), i);
      if (page.items.length < 1_000) break;
    }
  }

  /** When the last commit finished (monotonic ms), and how long it took. */
  let committedAt = -Infinity;
  let commitMs = 0;

  let following: Promise<void> = Promise.resolve();
  let followQueued: Promise<void> | undefined;
  /** The revision of the copy held here, if any. */
  const heldRev = (id: string): number | undefined => closedRecently.get(id)?.rev ?? [...active.values()].find((i) => i.id === id)?.rev;
  const isHeld = (id: string): boolean => closedRecently.has(id) || [...active.values()].some((i) => i.id === id);

  async function followOnce(): Promise<void> {
    if (!started || closing) return;
    for (;;) {
      const page = await deps.store.eventsSince(followedSeq, 1_000);
      if (page.length === 0) return;
      // The newest event per incident that is newer than the copy held; an incident never held only while it is active.
      const due = new Map<string, number>();
      for (const e of page) {
        const id = e.incident.id;
        if (!isHeld(id) && !isActive(e.incident.status) && !due.has(id)) continue;
        if (e.seq > (heldRev(id) ?? 0)) due.set(id, e.seq);
      }
      const stored = (await Promise.all([...due.keys()].map((id) => deps.store.get(id)))).filter((i): i is Incident => i !== undefined);
      followedSeq = page[page.length - 1]!.seq;
      if (stored.length > 0) {
        jobs.push({ kind: 'sync', incidents: stored });
        await kick();
      }
      if (page.length < 1_000) return;
    }
  }

  /** The store refusing the batch being retried: since when (epoch ms), and how often since start. */
  let refusingSince: number | undefined;
  let refusedTotal = 0;

  async function drain(): Promise<void> {
    let failures = 0;
    while (jobs.length > 0) {
      const pause = Math.min(config.maxCommitPauseMs, commitMs * (1 / config.commitShare - 1));
      const wait = committedAt + pause - performance.now();
      // A short, referenced timer: a shutdown in progress waits for it rather than exiting under it.
      if (wait > 0 && !closing) await new Promise((r) => setTimeout(r, wait));
      const batch = jobs.splice(0, jobs.length);
      await readUnheld(batch).catch((err: unknown) => log.warn({ err }, 'could not read incidents held elsewhere; deciding on what is held here'));
      const draft = new Map(active);
      const { transitions, answers, maxSeq, closedNow } = decide(batch, draft);
      try {
        const due = maxSeq > storedWatermark && (transitions.length > 0 || performance.now() - watermarkAt >= config.watermarkEveryMs);
        const started = performance.now();
        const events = transitions.length > 0 || due ? await deps.store.recordMany(transitions, due ? maxSeq : undefined) : [];
        if (due) watermarkAt = performance.now();
        if (transitions.length > 0 || due) {
          committedAt = performance.now();
          commitMs = committedAt - started;
        }
        // What was written carries its new revision, so the next write from it is a compare-and-set against it.
        const revs = new Map(events.map((e) => [e.incident.id, e.seq]));
        const revised = (i: Incident): Incident => {
          const rev = revs.get(i.id);
          return rev === undefined || i.rev === rev ? i : { ...i, rev };
        };
        active.clear();
        for (const [k, v] of draft) active.set(k, revised(v));
        for (const [id, i] of closedNow) {
          closedRecently.delete(id);
          closedRecently.set(id, revised(i));
        }
        while (closedRecently.size > 1_000) closedRecently.delete(closedRecently.keys().next().value as string);
        applied = maxSeq;
        if (due) storedWatermark = maxSeq;
        failures = 0;
        refusingSince = undefined;
        conflictsInARow = 0;
        setGauge();
        publish(events);
        for (const answer of answers) answer(revised);
      } catch (err) {
        // Decided again after the wait, against what is stored: the batch goes back first in line.
        jobs.unshift(...batch);
        if (err instanceof ActiveIncidentConflictError || err instanceof IncidentChangedError) {
          // Another writer (a node of the cluster) opened an incident under one of these keys, or changed
          // one of these incidents, since this node read it: read them as stored and decide again.
          const kind = err instanceof IncidentChangedError ? 'changed' : 'active_key';
          conflicts.inc({ kind });
          log.info({ err: err.message, kind }, 'another writer changed these incidents: reading them again and deciding again');
          if (conflictsInARow++ > 2) await sleep(backoffDelay(conflictsInARow - 3, { baseMs: 20, maxMs: 2_000, jitter: 'full' }));
          const ids = [...new Set(transitions.map((t) => t.incident.id))];
          const stored = await Promise.all(ids.map((id) => deps.store.get(id)));
          takeStored(active, closedRecently, stored.filter((i): i is Incident => i !== undefined));
          await loadActive(new Set(transitions.map((t) => incidentKey(t.incident))));
          continue;
        }
        if (closing) {
          // Shutting down with the store refusing: what was not stored is replayed from the watermark on the next start.
          for (const j of jobs) if (j.kind === 'act') j.done({ err });
          jobs.length = 0;
          log.warn({ err, watermark: storedWatermark }, 'incident store unavailable at shutdown; alarm events after the watermark are decided on the next start');
          return;
        }
        const delay = backoffDelay(failures++, { baseMs: config.retryMs, maxMs: 30_000, jitter: 'none' });
        refusingSince ??= Date.now();
        refusedTotal += 1;
        log.error({ err, retryInMs: delay }, 'incident store refused a batch; retrying');
        await sleep(delay);
      }
    }
  }

  function kick(): Promise<void> {
    running ??= drain().catch((err: unknown) => log.error({ err }, 'incident queue stopped')).finally(() => {
      running = undefined;
      if (jobs.length > 0 && !closed) void kick();
    });
    return running;
  }

  function onAlarm(e: AlarmEvent): void {
    if (closing) return;
    if (replaying) held.push(e);
    else {
      jobs.push({ kind: 'alarm', event: e });
      void kick();
    }
  }

  /** A human action, through the queue (its event is stored and published in seq order with the rest). */
  async function act(id: string, change: (i: Incident) => IncidentTransition | undefined): Promise<Incident> {
    if (!started || closing) throw new Error('incidents are not running');
    // Not active: a cleared incident may still be acknowledged or commented on.
    const known = [...active.values()].some((i) => i.id === id) || closedRecently.has(id);
    const stored = known ? undefined : await deps.store.get(id);
    if (!known && !stored) throw new AlarmError('not_found', `no incident ${id}`);
    return new Promise<Incident>((resolve, reject) => {
      jobs.push({ kind: 'act', id, change, ...(stored ? { stored } : {}), done: (r) => ('ok' in r ? resolve(r.ok) : reject(r.err)) });
      void kick();
    });
  }

  /** The incident as it stands: from memory when active or just closed, else stored. */
  async function current(id: string): Promise<Incident | undefined> {
    return [...active.values()].find((i) => i.id === id) ?? closedRecently.get(id) ?? deps.store.get(id);
  }

  /** An action on the incident and all its alarms (see ack / clear below). */
  async function asOne(
    id: string, actor: string, action: 'ack' | 'clear', applies: (m: Incident['members'][number]) => boolean,
    change: (i: Incident, ts: number, actor: string) => IncidentTransition, done: 'already_acknowledged' | 'already_cleared',
  ): Promise<Incident> {
    const before = await current(id);
    if (!before) throw new AlarmError('not_found', `no incident ${id}`);
    change(before, deps.clock(), actor); // refuses what is not allowed (already acknowledged / cleared) before touching its alarms
    const handled = new Set<string>();
    const unhandled = (i: Incident) => i.members.filter((m) => applies(m) && !handled.has(m.id)).map((m) => m.id);
    const handle = async (i: Incident, ids: readonly string[]) => {
      for (const m of ids) handled.add(m);
      await forMembers(i, action, actor, ids);
      await api.idle();
    };
    await handle(before, unhandled(before));
    // An alarm may join while its fellows are being acknowledged or cleared (a detector going into
    // alarm as the fire is cleared): the incident records every member as acknowledged / cleared,
    // so each such latecomer gets the same action from the engine, after the incident's change.
    let late: string[] = [];
    try {
      const after = await act(id, (cur) => {
        late = unhandled(cur);
        return change(cur, deps.clock(), actor);
      });
      if (late.length > 0) await handle(after, late);
      return late.length > 0 ? ((await current(id)) ?? after) : after;
    } catch (err) {
      if (err instanceof AlarmError && err.code === done) return (await current(id)) ?? before;
      throw err;
    }
  }

  /** Does to each alarm what was done to their incident; an alarm already in that state is skipped. */
  async function forMembers(i: Incident, action: 'ack' | 'clear', actor: string, ids: readonly string[]): Promise<void> {
    for (const id of ids) {
      try {
        await (action === 'ack' ? deps.engine.ack(id, actor) : deps.engine.clear(id, actor));
      } catch (err) {
        if (!(err instanceof AlarmError)) log.error({ err, incident: i.id, alarm: id }, `could not ${action} an alarm of its incident`);
      }
    }
  }

  const api: Incidents = {
    async start() {
      if (started) return;
      followedSeq = await deps.store.lastSeq();
      await loadActive();
      applied = storedWatermark = await deps.store.alarmWatermark();
      unsubscribe = deps.engine.subscribe(onAlarm);
      // Replay what was stored after the watermark, then what arrived meanwhile, without a gap or a repeat.
      for (;;) {
        const page = await deps.engine.eventsSince(applied, 1_000);
        for (const e of page) jobs.push({ kind: 'alarm', event: e });
        await kick();
        if (page.length < 1_000) break;
      }
      replaying = false;
      for (const e of held.splice(0)) if (e.seq > applied) jobs.push({ kind: 'alarm', event: e });
      started = true;
      await kick();
      setGauge();
      log.info({ active: active.size, watermark: applied }, 'incidents started');
    },
    active: () => [...active.values()],
    stats: () => ({ waiting: jobs.length, refusedTotal, ...(refusingSince !== undefined ? { refusingSince } : {}) }),
    get: (id) => deps.store.get(id),
    list: (query) => deps.store.list(query),
    eventsSince: (seq, limit) => deps.store.eventsSince(seq, limit),
    // Acknowledge / clear: its alarms first, then the incident — so whoever watches sees the
    // incident acknowledged or cleared only once its alarms are. Acknowledging every alarm may
    // acknowledge the incident on its own (by the same person): that is the answer then.
    ack: (id, actor) => asOne(id, actor, 'ack', (m) => m.status === 'active_unack' || m.status === 'cleared_unack', ackIncident, 'already_acknowledged'),
    assign: (id, assignee, actor) => {
      const ts = deps.clock();
      return act(id, (cur) => assignIncident(cur, assignee, ts, actor));
    },
    comment: (id, actor, text) => {
      const ts = deps.clock();
      return act(id, (cur) => commentIncident(cur, text, ts, actor));
    },
    clear: (id, actor) => asOne(id, actor, 'clear', (m) => isActive(m.status), clearIncident, 'already_cleared'),
    escalate: (id, actor, text, toLevel) => {
      const ts = deps.clock();
      return act(id, (cur) => escalateIncident(cur, ts, actor, text, toLevel));
    },
    transition: (id, change) => act(id, change),
    async tick(now) {
      if (!started || closing) return;
      jobs.push({ kind: 'tick', now });
      await kick();
    },
    follow() {
      // Calls while one waits to run are the same call (a hanging store must not grow a chain of them).
      if (followQueued) return followQueued;
      const next = following.then(() => {
        followQueued = undefined;
        return followOnce();
      }).catch((err: unknown) => log.warn({ err }, 'could not follow the other nodes\' incident changes; trying again on the next notification'));
      followQueued = next;
      following = next;
      return next;
    },
    subscribe(listener) {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
    async idle() {
      while (running || jobs.length > 0) await (running ?? kick());
    },
    async close() {
      if (closing) return;
      closing = true;
      unsubscribe?.();
      while (running || jobs.length > 0) await (running ?? kick());
      if (applied > storedWatermark) {
        await deps.store.saveAlarmWatermark(applied).then(() => { storedWatermark = applied; }, (err: unknown) => log.warn({ err }, 'could not store the incident watermark at shutdown; the last alarm events are decided again on the next start'));
      }
      closed = true;
    },
  };
  return api;
}
