import type { Registry } from 'prom-client';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import type { Alarm } from '../../alerts/contracts.js';
import { idempotencyKey, isPaging, type NotificationEvent, type Notifier } from '../../alerts/notifiers/index.js';
import type { Incident, IncidentEvent } from '../../storage/index.js';

/**
 * The abstract Notifier suite: every notifier (MQTT, each webhook format, and whatever comes next:
 * SMS, voice) runs it through `notifiers-contract.test.ts` against a real receiver of its own
 * (the embedded broker with a subscribed service account, a local HTTP server). It speaks only
 * through the Notifier interface and what the receiver got, keyed like `Idempotency-Key`.
 */
export interface NotifierHarness {
  notifier: Notifier;
  metrics: Registry;
  /** What the receiver got so far, in arrival order, as idempotency keys (`<incident>:<seq>`, `<incident>:reminder:<ts>`). */
  received(): readonly string[];
  /** Makes the receiver refuse the next `n` deliveries (receiver `refuses`). */
  refuse?(n: number): void;
  /** Takes the receiver away, keeping its session (receiver `never_refuses`). */
  away?(): Promise<void>;
  /** Brings the receiver back on the session it kept (receiver `never_refuses`). */
  back?(): Promise<void>;
  cleanup(): Promise<void>;
}

export interface NotifierTraits {
  /** The `notifier` label of `anju_notifications_total`. */
  readonly label: string;
  /** A machine feed carries every change (ack, assign, comment); a pager only what pages (isPaging). */
  readonly deliversEveryChange: boolean;
  /**
   * What a receiver can do to a delivery. `refuses`: a webhook endpoint answers 5xx, which must cost
   * that event only. `never_refuses`: the embedded broker takes every QoS 1 publish it authorises
   * whoever listens (MQTT 3.1.1 has no acknowledgement from subscriber to publisher), so no receiver
   * can refuse; what must hold instead is that a receiver that is away loses nothing — the broker
   * keeps the event on its persistent session (§3.1.2.4) and hands it over when it is back.
   */
  readonly receiver: 'refuses' | 'never_refuses';
}

const T = Date.UTC(2025, 5, 1, 2, 0, 0);
const alarm = (id: string, device: string): Alarm => ({
  id, type: 'smoke', originator: { kind: 'device', id: device }, site: 'chundu', building: 'b2', severity: 'critical', status: 'active_unack',
  startTs: T, lastUpdateTs: T, escalationLevel: 0, count: 1, details: { smoke: 0.3 }, timeline: [],
});
const incident = (id: string, over: Partial<Incident> = {}): Incident => ({
  id, hazard: 'fire', site: 'chundu', building: 'b2', level: 'pre_alarm', severity: 'critical', status: 'active_unack', startTs: T, lastUpdateTs: T,
  escalationLevel: 0, timeline: [],
  members: [{ id: `a-${id}`, type: 'smoke', originator: { kind: 'device', id: 'sd-1' }, site: 'chundu', building: 'b2', severity: 'critical', status: 'active_unack', startTs: T, details: {} }],
  ...over,
});
let seq = 0;
const ev = (type: IncidentEvent['type'], i: Incident, over: Partial<IncidentEvent> = {}): IncidentEvent =>
  ({ seq: ++seq, ts: T + seq * 1_000, type, incident: i, ...(type === 'raised' ? { alarm: alarm(`a-${i.id}`, 'sd-1') } : {}), ...over });

export function notifierContract(name: string, traits: NotifierTraits, open: () => Promise<NotifierHarness>): void {
  describe(`Notifier contract: ${name}`, () => {
    let h: NotifierHarness;
    beforeEach(async () => {
      h = await open();
    });
    afterEach(async () => {
      await h.cleanup();
    });

    const count = async (outcome: string) =>
      (await h.metrics.getSingleMetric('anju_notifications_total')?.get())?.values
        .find((v) => v.labels.notifier === traits.label && v.labels.outcome === outcome)?.value ?? 0;

    it('delivers each paging event once, in the order notified, and counts it sent', async () => {
      const i = incident('i-1');
      const events: NotificationEvent[] = [
        ev('raised', i),
        ev('updated', { ...i, level: 'fire' }, { previousLevel: 'pre_alarm' }),
        ev('escalated', { ...i, level: 'fire', escalationLevel: 1 }),
        { type: 'reminder', seq: 0, ts: T + 600_000, incident: { ...i, level: 'fire', escalationLevel: 1 }, reminder: 1 },
        ev('cleared', { ...i, level: 'fire', status: 'cleared_unack', clearTs: T + 900_000 }),
      ];
      for (const e of events) h.notifier.notify(e);
      await h.notifier.idle();
      await vi.waitFor(() => expect(h.received()).toEqual(events.map(idempotencyKey)));
      expect(await count('sent')).toBe(events.length);
    });

    it('keeps order through a burst from many incidents, notified back to back', async () => {
      const events = Array.from({ length: 60 }, (_, n) => ev('raised', incident(`burst-${n % 10}-${n}`)));
      for (const e of events) h.notifier.notify(e);
      await h.notifier.idle();
      await vi.waitFor(() => expect(h.received()).toEqual(events.map(idempotencyKey)), { timeout: 20_000 });
    });

    it(traits.deliversEveryChange ? 'carries every change, ack, assign and comment included' : 'leaves out what does not page (ack, assign, comment, a member joining)', async () => {
      const i = incident('i-2');
      const quiet = [ev('acked', { ...i, status: 'active_ack' }), ev('assigned', i), ev('commented', i), ev('updated', i)];
      const marker = ev('cleared', { ...i, status: 'cleared_ack' });
      expect(quiet.some(isPaging)).toBe(false);
      for (const e of [...quiet, marker]) h.notifier.notify(e);
      await h.notifier.idle();
      // The marker is last: once it is in, anything before it that was going to arrive has.
      await vi.waitFor(() => expect(h.received()).toContain(idempotencyKey(marker)));
      expect(h.received()).toEqual(traits.deliversEveryChange ? [...quiet, marker].map(idempotencyKey) : [idempotencyKey(marker)]);
    });

    it('after close, notify neither throws nor delivers: the event is counted as dropped', async () => {
      const first = ev('raised', incident('i-3'));
      h.notifier.notify(first);
      await h.notifier.idle();
      await vi.waitFor(() => expect(h.received()).toEqual([idempotencyKey(first)]));
      await h.notifier.close();
      expect(() => h.notifier.notify(ev('raised', incident('i-4')))).not.toThrow();
      expect(await count('dropped')).toBe(1);
      await h.notifier.idle();
      expect(h.received()).toEqual([idempotencyKey(first)]);
    });

    const refusalTitle = traits.receiver === 'refuses'
      ? 'a refusing receiver costs that event only: counted failed, the next one delivered, nothing thrown'
      : 'no receiver can refuse: with the receiver away the event is counted sent, none failed, and handed over when it is back';
    it(refusalTitle, async () => {
      if (traits.receiver === 'refuses') {
        if (!h.refuse) throw new Error('a receiver that refuses needs refuse() in its harness');
        h.refuse(1_000);
        const lost = ev('raised', incident('i-5'));
        expect(() => h.notifier.notify(lost)).not.toThrow();
        await h.notifier.idle();
        expect(await count('failed')).toBe(1);
        h.refuse(0);
        const next = ev('raised', incident('i-6'));
        h.notifier.notify(next);
        await h.notifier.idle();
        await vi.waitFor(() => expect(h.received()).toEqual([idempotencyKey(next)]));
        return;
      }
      if (!h.away || !h.back) throw new Error('a receiver that never refuses needs away() and back() in its harness');
      await h.away();
      const kept = ev('raised', incident('i-5'));
      expect(() => h.notifier.notify(kept)).not.toThrow();
      await h.notifier.idle();
      expect(await count('sent')).toBe(1);
      expect(await count('failed')).toBe(0);
      expect(h.received()).toEqual([]);
      await h.back();
      const next = ev('raised', incident('i-6'));
      h.notifier.notify(next);
      await h.notifier.idle();
      // Kept first, in order: the session hands over what it queued before anything published later.
      await vi.waitFor(() => expect(h.received()).toEqual([idempotencyKey(kept), idempotencyKey(next)]));
      expect(await count('sent')).toBe(2);
    });
  });
}
