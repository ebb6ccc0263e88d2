import type { Alarm, AlarmEvent } from '../contracts.js';

/**
 * What a notifier is given. Stored alarm events (they carry a `seq`), and reminders: an alarm still
 * unacknowledged after `reminderEveryMs` is announced again by the escalation scheduler. A reminder
 * is not an alarm change, so it is not stored and has no seq of its own (`seq` is 0); `reminder`
 * counts the reminders sent for the alarm.
 */
export interface ReminderEvent {
  readonly type: 'reminder';
  readonly seq: 0;
  readonly ts: number;
  readonly alarm: Alarm;
  readonly reminder: number;
}

export type NotificationEvent = AlarmEvent | ReminderEvent;

export interface Notifier {
  readonly name: string;
  /** Called synchronously from the engine listener: queues the delivery and returns at once. */
  notify(event: NotificationEvent): void;
  /** Resolves once everything queued so far was delivered or given up (tests, shutdown). */
  idle(): Promise<void>;
  /** Stops delivering; what is still queued is dropped and counted. */
  close(): Promise<void>;
}

/**
 * Is this event worth paging people for? New alarms, escalations, severity upgrades, reminders, and
 * clears (a WeCom group must see that the fire alarm is over). Not repeats that change nothing,
 * nor ack/assign/comment (the people who did them already know). Smoke-detector test-button
 * reports never raise an alarm (the smoke rule logs them), so they never reach a notifier.
 */
export function isPaging(e: NotificationEvent): boolean {
  switch (e.type) {
    case 'raised':
    case 'escalated':
    case 'cleared':
    case 'reminder':
      return true;
    case 'updated':
      return e.previousSeverity !== undefined;
    default:
      return false;
  }
}

/**
 * `<alarm id>:<seq>` for stored events; `<alarm id>:reminder:<ts>` for reminders (their count
 * restarts with the process, their time does not repeat).
 */
export function idempotencyKey(e: NotificationEvent): string {
  return e.type === 'reminder' ? `${e.alarm.id}:reminder:${e.ts}` : `${e.alarm.id}:${e.seq}`;
}
