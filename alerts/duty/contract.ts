import type { Incident } from '../../storage/incidents/contract.js';

/**
 * Paging a person (not a group): the person on duty an incident is handed to (alerts/duty/router.ts)
 * is told by every PersonNotifier the hub has — an @mention through the site's WeCom and DingTalk
 * robots, an SMS or voice call through a gateway — and each delivery goes on the incident's
 * timeline. Swappable like the incident notifiers: every implementation passes
 * test/alerts/person-notifier.contract.ts, the recording double of the tests included.
 */

/** Who is paged: what an account (storage/accounts) says about how to reach them. */
export interface Person {
  readonly id: string;
  readonly displayName: string;
  readonly phone?: string;
  readonly wecomUserId?: string;
  readonly dingtalkUserId?: string;
}

export interface PersonPage {
  readonly incident: Incident;
  readonly person: Person;
  /** `assigned`: the first on duty; `escalated`: the one before did not acknowledge in time. */
  readonly reason: 'assigned' | 'escalated';
  /** Position in the incident's chain (0 = the first on duty). */
  readonly step: number;
  /** How long the person has to acknowledge before the next is called (ms); absent when nobody comes after them or the incident does not escalate. */
  readonly ackWithinMs?: number;
  readonly ts: number;
}

export interface PersonDelivery {
  /** `wecom`, `dingtalk`, `sms`, … — what the timeline says the person was notified by. */
  readonly channel: string;
  /** Where it went (a robot's host, a gateway's host), for the timeline; never a key or token. */
  readonly target: string;
  readonly outcome: 'sent' | 'failed';
  readonly detail?: string;
}

export interface PersonNotifier {
  readonly name: string;
  /**
   * Delivers one page on every channel of this notifier that can reach the person (with its own
   * retries), and answers one delivery per attempt; none when no channel can (no phone, no user
   * id). Never rejects: a failure is an outcome.
   */
  notify(page: PersonPage): Promise<PersonDelivery[]>;
  /** Stops: pages in flight end as `failed` at once. */
  close(): Promise<void>;
}

/** An incident's page id, as `Idempotency-Key`: the same hand-over paged twice (a restart) is recognisable. */
export const pageKey = (p: Pick<PersonPage, 'incident' | 'step'>): string => `${p.incident.id}:duty:${p.step}`;
