import cron, { type ScheduledTask } from 'node-cron';
import type { Logger } from 'pino';
import type { Incident } from '../storage/incidents/contract.js';
import { AlarmError, type Severity } from './contracts.js';
import type { Incidents } from './incidents/manager.js';
import type { ReminderEvent } from './notifiers/contract.js';

/**
 * Escalation and reminders, of incidents (what people acknowledge: one fire, not its five alarms):
 * an unacknowledged critical incident goes up a level after `criticalAfterMs` (default 5 min), a
 * major one after `majorAfterMs` (30 min), and again after each further such interval up to
 * `maxLevel`, one level per tick — so a hub that was down does not fire every level at once. The
 * incident records the escalation (timeline, event); webhook targets with `minEscalationLevel` are
 * the people it reaches. An acknowledgement stops it (an acknowledged incident does not escalate).
 *
 * Between escalations, an unacknowledged incident of a reminded severity is announced again every
 * `reminderEveryMs` (not stored: a reminder changes nothing about it). The reminder clock starts
 * at the incident's opening or latest escalation; reminders sent are remembered in memory only,
 * so after a restart the next one may come up to one interval early.
 *
 * Ages are measured on the injected clock against the incident's start (the first alarm's reading
 * time). node-cron only decides when a check runs; `runOnce(now)` is the check, for tests.
 */

export interface EscalationConfig {
  readonly criticalAfterMs: number;
  readonly majorAfterMs: number;
  readonly reminderEveryMs: number;
  /** node-cron expression with seconds, e.g. every 30 s: `*\/30 * * * * *`. */
  readonly cron: string;
  /** Highest escalation level. Default 3. */
  readonly maxLevel?: number;
  /** Severities that get reminders. Default critical and major (a reminder per bin overflow would be noise). */
  readonly remindSeverities?: readonly Severity[];
}

export const defaultEscalationConfig: EscalationConfig = {
  criticalAfterMs: 5 * 60_000, majorAfterMs: 30 * 60_000, reminderEveryMs: 15 * 60_000, cron: '*/30 * * * * *',
};

export interface EscalationDeps {
  incidents: Pick<Incidents, 'active' | 'escalate'>;
  clock: () => number;
  logger: Logger;
  /** Where reminders go (Notifications.remind); without it, no reminders. */
  remind?: (event: ReminderEvent) => void;
  /** Incidents whose escalation someone else owns (alerts/duty: routed along a site's roster): reminded, never escalated here. */
  escalatedElsewhere?: (incident: Incident) => boolean;
  /**
   * Cluster: whether this node leads (storage/postgres/leader.ts). The schedule checks only on the
   * leader, so reminders (not stored) go out once; an escalation is a compare-and-set on the incident
   * (`toLevel`), so one decided on two nodes still happens once.
   */
  leads?: () => boolean;
}

export interface EscalationResult {
  escalated: string[];
  reminded: string[];
}

export interface Escalation {
  runOnce(now?: number): Promise<EscalationResult>;
  start(): void;
  stop(): Promise<void>;
}

export function createEscalation(config: EscalationConfig, deps: EscalationDeps): Escalation {
  if (!cron.validate(config.cron)) throw new Error(`escalation: invalid cron expression "${config.cron}"`);
  const maxLevel = config.maxLevel ?? 3;
  const remindSeverities = new Set(config.remindSeverities ?? ['critical', 'major']);
  const log = deps.logger.child({ part: 'escalation' });
  /** incident id → { ts of the last reminder, how many were sent } */
  const reminders = new Map<string, { ts: number; n: number }>();
  let task: ScheduledTask | undefined;
  let running: Promise<EscalationResult> | undefined;

  const afterMs = (s: Severity): number | undefined => (s === 'critical' ? config.criticalAfterMs : s === 'major' ? config.majorAfterMs : undefined);

  /** When the incident was last announced by its opening or an escalation. */
  const lastAnnounced = (a: Incident): number => {
    let ts = a.startTs;
    for (const t of a.timeline) if (t.event === 'escalated' && t.ts > ts) ts = t.ts;
    return ts;
  };

  async function check(now: number): Promise<EscalationResult> {
    const out: EscalationResult = { escalated: [], reminded: [] };
    const unacked = deps.incidents.active().filter((a) => a.status === 'active_unack');
    const live = new Set(unacked.map((a) => a.id));
    for (const id of reminders.keys()) if (!live.has(id)) reminders.delete(id);
    // Each incident is decided as it is when its turn comes, not as the list above had it: an
    // escalation awaits a commit, during which another incident may be acknowledged, cleared, routed
    // to a roster or escalated. The view is rebuilt after every await.
    let view: Map<string, Incident> | undefined;
    const current = (id: string): Incident | undefined => (view ??= new Map(deps.incidents.active().map((i) => [i.id, i]))).get(id);

    for (const { id } of unacked) {
      const a = current(id);
      if (a?.status !== 'active_unack') continue;
      const after = afterMs(a.severity);
      const owned = deps.escalatedElsewhere?.(a) === true;
      if (!owned && after !== undefined && a.escalationLevel < maxLevel && now - a.startTs >= after * (a.escalationLevel + 1)) {
        const level = a.escalationLevel + 1;
        const minutes = Math.round((now - a.startTs) / 60_000);
        try {
          await deps.incidents.escalate(a.id, 'escalation', `未确认 ${minutes} 分钟，升级至第 ${level} 级 (unacknowledged for ${minutes} min)`, level);
          out.escalated.push(a.id);
          // The escalation is itself a page: the reminder clock restarts from it.
          reminders.set(a.id, { ts: now, n: reminders.get(a.id)?.n ?? 0 });
        } catch (err) {
          // Acknowledged or cleared between our look and the queue: nothing to do.
          if (!(err instanceof AlarmError)) log.error({ err, incident: a.id }, 'escalation failed');
        } finally {
          view = undefined;
        }
        continue;
      }
      if (!deps.remind || !remindSeverities.has(a.severity)) continue;
      const sent = reminders.get(a.id);
      const since = Math.max(lastAnnounced(a), sent?.ts ?? 0);
      if (now - since < config.reminderEveryMs) continue;
      const n = (sent?.n ?? 0) + 1;
      reminders.set(a.id, { ts: now, n });
      deps.remind({ type: 'reminder', seq: 0, ts: now, incident: a, reminder: n });
      out.reminded.push(a.id);
    }
    if (out.escalated.length || out.reminded.length) log.info({ escalated: out.escalated.length, reminded: out.reminded.length }, 'escalation check');
    return out;
  }

  function runOnce(now = deps.clock()): Promise<EscalationResult> {
    // One check at a time: a slow store must not let two ticks escalate the same alarm twice.
    const next = (running ?? Promise.resolve(undefined)).catch(() => undefined).then(() => check(now));
    running = next;
    return next;
  }

  return {
    runOnce,
    start() {
      if (task) return;
      task = cron.schedule(config.cron, async () => {
        if (deps.leads?.() === false) return;
        try {
          await runOnce();
        } catch (err) {
          log.error({ err }, 'escalation check failed');
        }
      }, { name: 'anju-escalation', noOverlap: true });
    },
    async stop() {
      const t = task;
      task = undefined;
      if (t) await t.destroy();
      await running?.catch(() => undefined);
    },
  };
}
