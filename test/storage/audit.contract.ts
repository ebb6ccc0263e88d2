import { expect, it } from 'vitest';
import { withContract, type StoreHarness } from './contract-scaffold.js';
import type { AuditEntry } from '../../core/audit.js';
import type { AuditStore } from '../../storage/audit/contract.js';

/**
 * The abstract AuditStore suite: the embedded DuckDB store runs it; another store must pass it
 * unchanged. Not a test file itself (no `.test.ts`).
 */
export type AuditStoreHarness = StoreHarness<AuditStore>;

const T0 = Date.UTC(2026, 0, 1);

const entry = (ts: number, extra: Partial<AuditEntry> = {}): AuditEntry => ({
  ts, actor: 'zhang.wei', actorName: '张伟', role: 'maintenance', action: 'alarm.ack', target: 'a-1', ip: '10.0.0.7', method: 'POST',
  path: '/api/alerts/a-1/ack', status: 200, ...extra,
});

export function auditStoreContract(name: string, open: () => Promise<AuditStoreHarness>): void {
  withContract(`AuditStore contract: ${name}`, open, (c) => {

    it('keeps every field, answers newest first, and survives a reopen', async () => {
      await c.store.record(entry(T0));
      await c.store.record(entry(T0 + 1_000, { actor: 't-ops', actorName: 'ops bot', role: 'admin', action: 'token.create', method: 'POST', path: '/api/tokens' }));
      const { target: _omit, ...noTarget } = entry(T0 + 2_000, { action: 'rule.change', method: 'PUT', path: '/api/rules' });
      await c.store.record(noTarget);
      await c.reopen();
      const page = await c.store.query({ limit: 10, offset: 0 });
      expect(page.total).toBe(3);
      expect(page.items.map((e) => e.action)).toEqual(['rule.change', 'token.create', 'alarm.ack']);
      const { seq, ...first } = page.items[2]!;
      expect(first).toEqual(entry(T0));
      expect(seq).toBeTypeOf('number');
      expect(page.items[0]).not.toHaveProperty('target');
    });

    it('filters by actor, exact action, action prefix and a half-open time range, and pages', async () => {
      for (let i = 0; i < 5; i++) await c.store.record(entry(T0 + i * 1_000, { action: i % 2 === 0 ? 'alarm.ack' : 'alarm.clear', actor: i < 3 ? 'a' : 'b' }));
      await c.store.record(entry(T0 + 10_000, { action: 'account.create', actor: 'a' }));
      expect((await c.store.query({ actor: 'b', limit: 10, offset: 0 })).items.map((e) => e.ts)).toEqual([T0 + 4_000, T0 + 3_000]);
      expect((await c.store.query({ action: 'alarm.clear', limit: 10, offset: 0 })).total).toBe(2);
      expect((await c.store.query({ action: 'alarm.', limit: 10, offset: 0 })).total).toBe(5);
      expect((await c.store.query({ from: T0 + 1_000, to: T0 + 3_000, limit: 10, offset: 0 })).items.map((e) => e.ts)).toEqual([T0 + 2_000, T0 + 1_000]);
      const p2 = await c.store.query({ actor: 'a', limit: 2, offset: 2 });
      expect(p2).toMatchObject({ total: 4, items: [{ ts: T0 + 1_000 }, { ts: T0 }] });
    });

    it('prunes only entries older than the cut-off', async () => {
      await c.store.record(entry(T0));
      await c.store.record(entry(T0 + 5_000));
      expect(await c.store.prune(T0 + 5_000)).toBe(1);
      expect(await c.store.prune(T0 + 5_000)).toBe(0);
      expect((await c.store.query({ limit: 10, offset: 0 })).items.map((e) => e.ts)).toEqual([T0 + 5_000]);
    });
  });
}
