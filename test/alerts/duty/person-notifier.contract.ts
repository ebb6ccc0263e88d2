import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { pageKey, type Person, type PersonNotifier, type PersonPage } from '../../../alerts/duty/contract.js';
import type { Incident } from '../../../storage/incidents/contract.js';

/**
 * The abstract PersonNotifier suite: the recording double of the tests, the robots' @mentions and
 * the SMS gateway (each against a real local HTTP receiver) run it through
 * person-notifiers.test.ts, speaking only through the interface and what the receiver got.
 */
export interface PersonNotifierHarness {
  notifier: PersonNotifier;
  /** Keys (`<incident>:duty:<step>`) of the pages the receiver got, in arrival order. */
  received(): readonly string[];
  /** Makes the receiver refuse the next `n` deliveries (503). */
  refuse?(n: number): void;
  cleanup(): Promise<void>;
}

const T = Date.UTC(2025, 5, 1, 18, 0, 0);
const incident = (id: string): Incident => ({
  id, hazard: 'fire', site: 'chundu', building: 'b3', level: 'fire', severity: 'critical', status: 'active_unack', startTs: T, lastUpdateTs: T,
  escalationLevel: 0, timeline: [], members: [],
});
/** Reachable by every channel: a phone and both user ids. */
export const reachable: Person = { id: 'li.na', displayName: '李娜', phone: '138 0000 0001', wecomUserId: 'LiNa', dingtalkUserId: 'dd-lina' };
const page = (id: string, person: Person, step = 0): PersonPage => ({ incident: incident(id), person, reason: step === 0 ? 'assigned' : 'escalated', step, ts: T });

/**
 * `refuses`: the harness's receiver can refuse deliveries (a real HTTP receiver), so the retry case is
 * registered; the recording double has no transport to retry over and leaves it out (rather than a
 * skipped test in every run).
 */
export function personNotifierContract(name: string, open: () => Promise<PersonNotifierHarness>, { refuses = false } = {}): void {
  describe(`PersonNotifier contract: ${name}`, () => {
    let h: PersonNotifierHarness;
    beforeEach(async () => {
      h = await open();
    });
    afterEach(async () => {
      await h.cleanup();
    });

    it('delivers a page to a person it can reach, answers it sent, and the receiver gets it once under its key', async () => {
      const p = page('i-1', reachable, 1);
      const out = await h.notifier.notify(p);
      expect(out.length).toBeGreaterThan(0);
      for (const d of out) expect(d).toMatchObject({ channel: expect.any(String), target: expect.any(String), outcome: 'sent' });
      expect(h.received()).toEqual(out.map(() => pageKey(p)));
    });

    it('answers nothing, and sends nothing, for a person no channel of it reaches', async () => {
      expect(await h.notifier.notify(page('i-2', { id: 'nobody', displayName: '无人' }))).toEqual([]);
      expect(h.received()).toEqual([]);
    });

    if (refuses) it('retries a refused delivery, and answers failed (never rejects) when the receiver keeps refusing', async () => {
      if (!h.refuse) throw new Error(`${name}: declared { refuses: true } but its harness has no refuse()`);
      h.refuse(1);
      expect((await h.notifier.notify(page('i-3', reachable))).every((d) => d.outcome === 'sent')).toBe(true);
      h.refuse(1_000);
      const failed = await h.notifier.notify(page('i-4', reachable));
      expect(failed.length).toBeGreaterThan(0);
      for (const d of failed) expect(d).toMatchObject({ outcome: 'failed', detail: 'HTTP 503' });
      expect(h.received().filter((k) => k.startsWith('i-4'))).toEqual([]);
    });

    it('pages nobody after close, and does not reject', async () => {
      await h.notifier.close();
      const out = await h.notifier.notify(page('i-5', reachable));
      expect(out.every((d) => d.outcome === 'failed')).toBe(true);
      expect(h.received()).toEqual([]);
    });
  });
}
