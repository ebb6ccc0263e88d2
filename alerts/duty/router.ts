import type { Logger } from 'pino';
import { Counter, type Registry } from 'prom-client';
import { roleAtSite } from '../../core/accounts.js';
import type { TextNames } from '../../core/alarm-text.js';
import { whoIsOnDuty } from '../../core/roster.js';
import { createSerialQueue, getOrCreateMetric } from '../../core/util/index.js';
import type { AccountStore } from '../../storage/accounts/contract.js';
import type { Incident } from '../../storage/incidents/contract.js';
import type { RosterStore } from '../../storage/rosters/contract.js';
import { AlarmError, isActive } from '../contracts.js';
import type { Incidents } from '../incidents/manager.js';
import type { Person, PersonDelivery, PersonNotifier, PersonPage } from './contract.js';
import { handOver, notifiedAt, recordPage, routeState, StepTakenError, waitingSince, type RouteState } from './routing.js';

/**
 * Routing and escalation to people. A raised incident of a site with a roster is handed to the
 * first person on duty for its hazard and building at that moment (core/roster.ts, in the site's
 * zone), who is paged personally by every PersonNotifier; unacknowledged after the site's limit
 * (the roster's `ackWithinMinutes`, else the hub's escalation time for critical and major
 * incidents; minor and warning ones are handed over but not escalated) it goes to the next person
 * of its chain, then the managers, one step per limit, and stops at an acknowledgement.
 *
 * Every step is an incident transition through the incidents' queue, decided again against the
 * incident as it then stands (handOver refuses a step taken already), so a check racing an
 * acknowledgement or another check changes nothing — each step happens exactly once. The state
 * is the timeline (routing.ts), so a restart carries on: `start()` routes what was raised while
 * the hub was down, escalates what waited too long, and pages again a step whose page was never
 * recorded (at least once: a page sent just before a crash may come twice, with the same
 * Idempotency-Key). Time is the injected clock; `runOnce(now)` is the check, for tests.
 */

export interface DutyConfig {
  /** Limits when the roster sets none: critical, major. */
  readonly criticalAfterMs: number;
  readonly majorAfterMs: number;
  /** How often the check runs. Default 15 s. */
  readonly checkEveryMs?: number;
}

export interface DutyDeps {
  incidents: Pick<Incidents, 'active' | 'get' | 'subscribe' | 'transition'>;
  rosters: Pick<RosterStore, 'get'>;
  accounts: Pick<AccountStore, 'get'>;
  notifiers: readonly PersonNotifier[];
  clock: () => number;
  logger: Logger;
  metrics: Registry;
  names?: TextNames;
  /**
   * Cluster: whether this node leads (storage/postgres/leader.ts). The periodic check (escalating
   * along the chain, paging again what was never recorded) runs only on the leader; a node routes
   * the incidents it raises itself at once. Every step is a compare-and-set on the incident, so a
   * step decided on two nodes is taken once.
   */
  leads?: () => boolean;
}

export interface DutyCheck {
  readonly routed: string[];
  readonly escalated: string[];
  /** Pages (re)started for steps whose page was not recorded (after a restart). */
  readonly repaged: string[];
}

export interface DutyRouter {
  start(): Promise<void>;
  runOnce(now?: number): Promise<DutyCheck>;
  /** For the hub's escalation schedule: this incident's escalation is the roster's. */
  owns(incident: Incident): boolean;
  /** Resolves once every routing step and page started so far has finished (tests, shutdown). */
  idle(): Promise<void>;
  stop(): Promise<void>;
}

/**
 * Cluster: how long a step's page may be in flight on another node before the leader sends it again.
 * A page tries each channel up to 5 times with a 10 s timeout and backoff from 1 s (sms.ts, robots.ts):
 * about 65 s at worst; three minutes leave room for a slow person lookup and the transition's commit.
 */
const REPAGE_AFTER_MS = 3 * 60_000;

export function createDutyRouter(config: DutyConfig, deps: DutyDeps): DutyRouter {
  const log = deps.logger.child({ part: 'duty' });
  const reg = deps.metrics;
  const steps = getOrCreateMetric(reg, 'anju_duty_handovers_total', () => new Counter({
    name: 'anju_duty_handovers_total', help: 'Incidents handed to a person by the roster: assigned (first on duty) or escalated (to the next)',
    labelNames: ['kind'], registers: [reg],
  }));
  const pages = getOrCreateMetric(reg, 'anju_duty_pages_total', () => new Counter({
    name: 'anju_duty_pages_total', help: 'Personal pages by channel and outcome (unreachable: no channel could reach the person)',
    labelNames: ['channel', 'outcome'], registers: [reg],
  }));
  const queue = createSerialQueue();
  /** `<incident>:<step>` of pages in flight. */
  const paging = new Map<string, Promise<void>>();
  let timer: NodeJS.Timeout | undefined;
  let unsubscribe: (() => void) | undefined;
  let stopped = false;

  /**
   * How long the person handed the incident has to acknowledge it. Minor and warning incidents (a
   * bin to empty, a battery to change) are not escalated, as the hub's own escalation does not:
   * calling a manager at night for them would teach people to ignore the calls that matter.
   */
  const limitFor = (i: Incident, ackWithinMinutes?: number): number | undefined => {
    if (i.severity !== 'critical' && i.severity !== 'major') return undefined;
    if (ackWithinMinutes !== undefined) return ackWithinMinutes * 60_000;
    return i.severity === 'critical' ? config.criticalAfterMs : config.majorAfterMs;
  };

  async function person(id: string): Promise<Person | undefined> {
    const a = await deps.accounts.get(id);
    if (!a) return undefined;
    return {
      id: a.id, displayName: a.displayName, ...(a.phone ? { phone: a.phone } : {}), ...(a.wecomUserId ? { wecomUserId: a.wecomUserId } : {}),
      ...(a.dingtalkUserId ? { dingtalkUserId: a.dingtalkUserId } : {}),
    };
  }

  /** The roster's chain, without those who cannot take the incident: gone, disabled, or without a role at its site. */
  async function chainFor(i: Incident, now: number): Promise<{ chain: string[]; source: string; ackWithinMinutes?: number } | undefined> {
    const stored = await deps.rosters.get(i.site);
    if (!stored) return undefined;
    const duty = whoIsOnDuty(stored.roster, i.hazard, i.building, now);
    const chain: string[] = [];
    for (const id of duty.chain) {
      const a = await deps.accounts.get(id);
      if (a && !a.disabled && roleAtSite(a.grants, i.site) !== undefined) chain.push(id);
      else log.warn({ site: i.site, account: id }, 'a person of the roster has no enabled account with a role at the site: skipped');
    }
    const limit = stored.roster.ackWithinMinutes;
    return chain.length > 0 ? { chain, source: duty.source, ...(limit !== undefined ? { ackWithinMinutes: limit } : {}) } : undefined;
  }

  /** Pages `chain[step]` in the background; the outcome goes on the timeline. */
  function page(i: Incident, state: RouteState, reason: PersonPage['reason'], ackWithinMs: number | undefined): void {
    const key = `${i.id}:${state.step}`;
    if (paging.has(key) || stopped) return;
    const id = state.chain[state.step] as string;
    const run = (async () => {
      const who = await person(id);
      const ts = deps.clock();
      const escalates = ackWithinMs !== undefined && state.step + 1 < state.chain.length;
      const p: PersonPage | undefined = who ? { incident: i, person: who, reason, step: state.step, ts, ...(escalates ? { ackWithinMs } : {}) } : undefined;
      const deliveries: PersonDelivery[] = p ? (await Promise.all(deps.notifiers.map((n) => n.notify(p)))).flat() : [];
      if (stopped) {
        // Cut short by the shutdown: left unrecorded, so the next start pages this step again.
        log.warn({ incident: i.id, person: id, step: state.step }, 'page interrupted by the shutdown; sent again on the next start');
        return;
      }
      for (const d of deliveries) pages.inc({ channel: d.channel, outcome: d.outcome });
      if (deliveries.length === 0) pages.inc({ channel: 'none', outcome: 'unreachable' });
      await deps.incidents.transition(i.id, (cur) => recordPage(cur, id, state.step, deliveries, deps.clock()));
      log.info({ incident: i.id, person: id, step: state.step, deliveries: deliveries.map((d) => `${d.channel}:${d.outcome}`) }, 'person paged');
    })().catch((err: unknown) => log.error({ err, incident: i.id, person: id }, 'paging a person failed'))
      .finally(() => paging.delete(key));
    paging.set(key, run);
  }

  async function route(i: Incident, now: number): Promise<boolean> {
    const c = await chainFor(i, now);
    if (!c) return false;
    const after = await deps.incidents.transition(i.id, (cur) => handOver(cur, c.chain, 0, now, { source: c.source }));
    steps.inc({ kind: 'assigned' });
    page(after, routeState(after) as RouteState, 'assigned', limitFor(after, c.ackWithinMinutes));
    log.info({ incident: i.id, assignee: c.chain[0], chain: c.chain }, 'incident assigned by the roster');
    return true;
  }

  /**
   * Whether a step's unrecorded page is this node's to send again. Alone, at once (what it was paging
   * is in `paging`; anything else was cut short by a stop). In a cluster the node that handed the step
   * over may still be paging in the background: only once the step is older than any page can take.
   */
  const mayRepage = (state: RouteState, now: number): boolean => deps.leads === undefined || now - state.ts >= REPAGE_AFTER_MS;

  async function check(now: number): Promise<DutyCheck> {
    const out: DutyCheck = { routed: [], escalated: [], repaged: [] };
    const rosters = new Map<string, number | undefined>();
    const siteLimit = async (site: string) => {
      if (!rosters.has(site)) rosters.set(site, (await deps.rosters.get(site))?.roster.ackWithinMinutes);
      return rosters.get(site);
    };
    // Each incident is decided on what it is when its turn comes, not on a list taken before: a page
    // that finishes while this check awaits (a roster read, another incident's hand-over) has put its
    // `notified` on the incident and left `paging`, and a stale copy would page that person again.
    let view: Map<string, Incident> | undefined;
    const currentOf = (id: string) => (view ??= new Map(deps.incidents.active().map((x) => [x.id, x]))).get(id);
    for (const id of deps.incidents.active().map((x) => x.id)) {
      if (stopped) break;
      try {
        const site = currentOf(id)?.site;
        if (site === undefined) continue;
        if (!rosters.has(site)) {
          await siteLimit(site);
          view = undefined;
        }
        const i = currentOf(id);
        if (!i) continue;
        const state = routeState(i);
        if (!state) {
          if (i.status === 'active_unack') {
            view = undefined;
            if (await route(i, now)) out.routed.push(i.id);
          }
          continue;
        }
        const limit = limitFor(i, rosters.get(i.site));
        const next = state.step + 1;
        if (i.status === 'active_unack' && limit !== undefined && next < state.chain.length && now - waitingSince(i, state) >= limit) {
          view = undefined;
          const waitedMin = Math.round((now - waitingSince(i, state)) / 60_000);
          const after = await deps.incidents.transition(i.id, (cur) => handOver(cur, state.chain, next, now, { waitedMin }));
          steps.inc({ kind: 'escalated' });
          out.escalated.push(i.id);
          log.info({ incident: i.id, to: state.chain[next], step: next }, 'incident not acknowledged in time: handed to the next person');
          page(after, routeState(after) as RouteState, 'escalated', limit);
        } else if (!notifiedAt(i, state.step) && !paging.has(`${i.id}:${state.step}`) && isActive(i.status) && mayRepage(state, now)) {
          out.repaged.push(i.id);
          page(i, state, state.step === 0 ? 'assigned' : 'escalated', limit);
        }
      } catch (err) {
        // Acknowledged, cleared or handed on between our look and the queue: nothing to do.
        if (!(err instanceof AlarmError || err instanceof StepTakenError)) log.error({ err, incident: id }, 'duty check failed for an incident');
      }
    }
    return out;
  }

  const runOnce = (now = deps.clock()): Promise<DutyCheck> => queue.run(() => check(now));

  return {
    async start() {
      unsubscribe = deps.incidents.subscribe((e) => {
        if (e.type !== 'raised' || stopped) return;
        // Through the queue (one step at a time); the incident as stored, which the listener's event already is.
        void queue.run(async () => {
          const cur = (await deps.incidents.get(e.incident.id)) ?? e.incident;
          if (cur.status === 'active_unack' && !routeState(cur)) await route(cur, deps.clock());
        }).catch((err: unknown) => {
          if (!(err instanceof AlarmError || err instanceof StepTakenError)) log.error({ err, incident: e.incident.id }, 'routing a new incident failed');
        });
      });
      if (deps.leads?.() !== false) await runOnce();
      timer = setInterval(() => {
        if (deps.leads?.() === false) return;
        void runOnce().catch((err: unknown) => log.error({ err }, 'duty check failed'));
      }, config.checkEveryMs ?? 15_000);
      timer.unref();
    },
    runOnce,
    owns: (i) => routeState(i) !== undefined,
    async idle() {
      for (;;) {
        await queue.idle();
        if (paging.size === 0) return;
        await Promise.all([...paging.values()]);
      }
    },
    async stop() {
      stopped = true;
      unsubscribe?.();
      if (timer) clearInterval(timer);
      await queue.idle();
      await Promise.all(deps.notifiers.map((n) => n.close()));
      await Promise.all([...paging.values()]);
    },
  };
}
