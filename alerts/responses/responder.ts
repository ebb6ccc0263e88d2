import { randomUUID } from 'node:crypto';
import type { Logger } from 'pino';
import { Counter, type Registry } from 'prom-client';
import { isActive } from '../../core/alarms.js';
import { isFinalStatus, type Command, type CommandInput } from '../../core/commands.js';
import { interlock } from '../../core/interlocks.js';
import type { ResponseDevice } from '../../core/responses.js';
import { getOrCreateMetric } from '../../core/util/index.js';
import type { Incident } from '../../storage/incidents/contract.js';
import type { Incidents } from '../incidents/manager.js';
import type { ResponsePolicies } from './policies.js';
import { AUTO_ACTOR, commandChanged, confirmProposal, demoteProposal, performProposal, rejectProposal } from './transitions.js';

/**
 * Carries out an incident's proposals: a person confirms or rejects one (`POST /api/incidents/{id}/
 * proposals/{pid}/confirm|reject`); an `auto_after` proposal nobody decided is carried out when its
 * time comes (the tick, on the injected clock); either way the command goes through the command
 * dispatcher (commands/), so it has the whole command lifecycle and its audit, and each change of
 * that command is recorded back on the proposal and, once final, on the incident's timeline.
 *
 * Order of a confirmation: the decision and the command id are stored first (on the incident, one
 * transaction), then the command is sent with that id. A restart in between finds the proposal
 * decided with no command stored under its id and sends it then — once, whatever happened before.
 * The dispatcher is given the id, and answers a command it already has without sending it again.
 *
 * Automatic actions are re-checked when they come due: the site must still allow them and no
 * interlock (core/interlocks.ts, GB 50016-2014 §10.1.6, GB 51348-2019) may stand in the way;
 * otherwise the proposal waits for a person from then on.
 */

/** What the responder needs of the command dispatcher (commands/dispatcher.ts CommandService). */
export interface ResponseCommands {
  send(deviceId: string, input: CommandInput, sentBy: string, opts?: { readonly id?: string }): Promise<Command>;
  get(id: string): Promise<Command | undefined>;
  subscribe(listener: (e: { readonly command: Command }) => void): () => void;
}

export interface ResponderConfig {
  /** How often automatic proposals are looked at. */
  readonly tickMs: number;
}

export interface ResponderDeps {
  readonly incidents: Pick<Incidents, 'transition' | 'active' | 'get' | 'list'>;
  readonly commands: ResponseCommands;
  readonly policies: Pick<ResponsePolicies, 'policyFor'>;
  readonly devices: { get(id: string): ResponseDevice | undefined };
  readonly clock: () => number;
  readonly logger: Logger;
  readonly metrics: Registry;
  readonly newId?: () => string;
}

export interface Responder {
  /** Picks up what a restart interrupted (decided proposals whose command was not sent, outcomes missed); then ticks. */
  start(): Promise<void>;
  /** `sentBy`: who the command is sent as (the API: `token:<name>`); the actor by default. */
  confirm(incidentId: string, proposalId: string, actor: string, sentBy?: string): Promise<Incident>;
  reject(incidentId: string, proposalId: string, actor: string, reason?: string): Promise<Incident>;
  /** Carries out the automatic proposals due at `now`; answers how many. The timer calls it, tests may too. */
  tick(now: number): Promise<number>;
  stop(): void;
}

/** Cleared incidents looked at on start: a command outlives its incident by its time to live at most (a day). */
const RECENT_CLEARED = 200;

export function createResponder(config: ResponderConfig, deps: ResponderDeps): Responder {
  const { incidents, commands, clock } = deps;
  const log = deps.logger.child({ part: 'responses' });
  const newId = deps.newId ?? randomUUID;
  const steps = getOrCreateMetric(deps.metrics, 'anju_response_actions_total', () => new Counter({
    name: 'anju_response_actions_total',
    help: 'Incident response proposals decided (confirmed, rejected, performed automatically, demoted to a person) and their commands\' outcomes.',
    labelNames: ['step'], registers: [deps.metrics],
  }), ['step']);
  /** Command id → the proposal it carries out. */
  const tracked = new Map<string, { incident: string; proposal: string }>();

  const onCommand = (c: Command) => {
    const t = tracked.get(c.id);
    if (!t) return;
    if (isFinalStatus(c.status)) {
      tracked.delete(c.id);
      steps.inc({ step: c.status });
    }
    incidents.transition(t.incident, (i) => commandChanged(i, t.proposal, c, clock()))
      .catch((err: unknown) => log.error({ err, incident: t.incident, command: c.id }, 'could not record a command outcome on its incident'));
  };

  /** Sends the command of a decided proposal (its id chosen already) and records what the dispatcher answered. */
  async function dispatch(incident: Incident, proposalId: string): Promise<Incident> {
    const p = incident.proposals?.find((x) => x.id === proposalId);
    if (!p?.commandId) return incident;
    const sentBy = p.sentBy ?? p.decidedBy ?? AUTO_ACTOR;
    const commandId = p.commandId;
    tracked.set(commandId, { incident: incident.id, proposal: p.id });
    let command: Command;
    try {
      const input = { name: p.command, ...(p.ttlSeconds !== undefined ? { ttlSeconds: p.ttlSeconds } : {}) };
      command = await commands.send(p.device, input, sentBy, { id: commandId });
    } catch (err) {
      // Refused before it was sent (device removed, capability withdrawn): the proposal says so; nothing reached a device.
      tracked.delete(commandId);
      steps.inc({ step: 'failed' });
      const message = `not sent: ${err instanceof Error ? err.message : String(err)}`;
      log.warn({ incident: incident.id, proposal: p.id, err: message }, 'response command refused');
      return incidents.transition(incident.id, (i) => commandChanged(i, p.id, { id: commandId, status: 'failed', message }, clock()));
    }
    return incidents.transition(incident.id, (i) => commandChanged(i, p.id, command, clock()));
  }

  async function confirm(incidentId: string, proposalId: string, actor: string, sentBy?: string): Promise<Incident> {
    const commandId = newId();
    const decided = await incidents.transition(incidentId, (i) => confirmProposal(i, proposalId, actor, clock(), commandId, sentBy));
    steps.inc({ step: 'confirmed' });
    log.info({ incident: incidentId, proposal: proposalId, actor, command: commandId }, 'response confirmed');
    return dispatch(decided, proposalId);
  }

  let ticking: Promise<number> | undefined;
  async function tickOnce(now: number): Promise<number> {
    let performed = 0;
    for (const i of incidents.active()) {
      for (const p of i.proposals ?? []) {
        if (p.status !== 'proposed' || p.mode !== 'auto_after' || p.autoAt === undefined || p.autoAt > now) continue;
        const device = deps.devices.get(p.device);
        const lock = device ? interlock(device, p.command, 'automatic') : undefined;
        const why = !device ? `device ${p.device} is no longer registered`
          : lock ? `${lock.reason} (${lock.standard})`
            : !deps.policies.policyFor(i.site).allowAuto ? 'the site no longer allows automatic actions (allowAuto)' : undefined;
        try {
          if (why) {
            await incidents.transition(i.id, (cur) => demoteProposal(cur, p.id, now, `not carried out automatically: ${why}`));
            steps.inc({ step: 'demoted' });
            log.warn({ incident: i.id, proposal: p.id, why }, 'automatic response withheld; it waits for a person');
            continue;
          }
          const commandId = newId();
          const decided = await incidents.transition(i.id, (cur) => performProposal(cur, p.id, now, commandId));
          steps.inc({ step: 'performed' });
          log.warn({ incident: i.id, proposal: p.id, device: p.device, command: p.command }, 'response carried out automatically: nobody decided in time');
          await dispatch(decided, p.id);
          performed++;
        } catch (err) {
          // Decided meanwhile by a person, or the incident cleared: nothing to do.
          log.debug({ err, incident: i.id, proposal: p.id }, 'automatic response not carried out');
        }
      }
    }
    return performed;
  }

  const tick = (now: number) => (ticking ??= tickOnce(now).finally(() => { ticking = undefined; }));
  let timer: NodeJS.Timeout | undefined;
  let unsubscribe: (() => void) | undefined;

  return {
    async start() {
      unsubscribe = commands.subscribe((e) => onCommand(e.command));
      const cleared = await incidents.list({ status: ['cleared_ack', 'cleared_unack'], limit: RECENT_CLEARED, offset: 0 });
      for (const i of [...incidents.active(), ...cleared.items]) {
        for (const p of i.proposals ?? []) {
          if (!p.commandId || (p.status !== 'confirmed' && p.status !== 'performed') || (p.commandStatus && isFinalStatus(p.commandStatus))) continue;
          // Tracked before the read: an outcome announced while it runs is recorded, not dropped (the
          // copy read may be older than that event; commandChanged never goes back).
          tracked.set(p.commandId, { incident: i.id, proposal: p.id });
          const command = await commands.get(p.commandId);
          if (!command || isFinalStatus(command.status)) tracked.delete(p.commandId);
          if (!command && isActive(i.status)) {
            // Decided, then the process stopped before the command was stored: sent now, under the id chosen then.
            log.warn({ incident: i.id, proposal: p.id, command: p.commandId }, 'a response decided before a restart is sent now');
            await dispatch(i, p.id);
            continue;
          }
          if (!command) continue;
          await incidents.transition(i.id, (cur) => commandChanged(cur, p.id, command, clock()));
        }
      }
      timer = setInterval(() => {
        tick(clock()).catch((err: unknown) => log.error({ err }, 'automatic response tick failed'));
      }, config.tickMs);
      timer.unref();
    },
    confirm,
    async reject(incidentId, proposalId, actor, reason) {
      const after = await incidents.transition(incidentId, (i) => rejectProposal(i, proposalId, actor, clock(), reason));
      steps.inc({ step: 'rejected' });
      log.info({ incident: incidentId, proposal: proposalId, actor }, 'response rejected');
      return after;
    },
    tick,
    stop() {
      if (timer) clearInterval(timer);
      unsubscribe?.();
    },
  };
}
