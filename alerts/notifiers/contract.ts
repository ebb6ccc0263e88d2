import type { Incident, IncidentEvent } from '../../storage/incidents/contract.js';

/**
 * What a notifier is given: incident events (DESIGN §5 "incidents over alarms": one message per
 * change of the incident — one fire, one leak — not one per alarm that is its evidence), and
 * reminders: an incident still unacknowledged after `reminderEveryMs` is announced again by the
 * escalation scheduler. A reminder is not a change, so it is not stored and has no seq of its own
 * (`seq` is 0); `reminder` counts the reminders sent for the incident.
 */
export interface ReminderEvent {
  readonly type: 'reminder';
  readonly seq: 0;
  readonly ts: number;
  readonly incident: Incident;
  readonly reminder: number;
}

export type NotificationEvent = IncidentEvent | ReminderEvent;

export interface Notifier {
  readonly name: string;
  /** Called synchronously from the incident listener: queues the delivery and returns at once. */
  notify(event: NotificationEvent): void;
  /** Resolves once everything queued so far was delivered or given up (tests, shutdown). */
  idle(): Promise<void>;
  /** Stops delivering; what is still queued is dropped and counted. */
  close(): Promise<void>;
}

/**
 * Is this event worth paging people for? A new incident, one that went up a level (预警 → 火警)
 * or a severity, an escalation, a reminder, and the clear (a WeCom group must see that the fire is
 * over). Not a third detector joining a fire already paged, nor ack/assign/comment (the people who
 * did them already know), except a response: confirming or carrying out a proposal and its
 * command's outcome page, since something was done to a device. Test-button reports never raise an alarm, so they never reach a notifier.
 */
/** Steps of an incident response (core/responses.ts) that page: something was done to a device, or came of it. */
const pagingResponseSteps: readonly string[] = ['confirmed', 'performed', 'succeeded', 'failed', 'expired'];

export function isPaging(e: NotificationEvent): boolean {
  switch (e.type) {
    case 'raised':
    case 'escalated':
    case 'cleared':
    case 'reminder':
      return true;
    case 'updated':
      // A response confirmed or carried out by itself, and what came of its command: the group sees what was done to a device.
      return e.previousSeverity !== undefined || e.previousLevel !== undefined || pagingResponseSteps.includes(e.response?.step ?? '');
    default:
      return false;
  }
}

/**
 * `<incident id>:<seq>` for stored events; `<incident id>:reminder:<ts>` for reminders (their count
 * restarts with the process, their time does not repeat).
 */
export function idempotencyKey(e: NotificationEvent): string {
  return e.type === 'reminder' ? `${e.incident.id}:reminder:${e.ts}` : `${e.incident.id}:${e.seq}`;
}
