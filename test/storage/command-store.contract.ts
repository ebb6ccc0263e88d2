import { expect, it } from 'vitest';
import { withContract, type StoreHarness } from './contract-scaffold.js';
import type { Command } from '../../core/commands.js';
import type { CommandStore } from '../../storage/commands/contract.js';
import { DuplicateError } from '../../storage/state/contract.js';

/**
 * The abstract CommandStore suite: the embedded DuckDB store runs it today, the PostgreSQL one of
 * cluster mode must pass it unchanged. Not a test file itself (no `.test.ts`).
 */
export type CommandStoreHarness = StoreHarness<CommandStore>;

const T0 = Date.UTC(2026, 0, 1);

const command = (id: string, extra: Partial<Command> = {}): Command => ({
  id, device: 'wm-1', name: 'close', status: 'queued', sentBy: 'token:ops', createdAt: T0, expiresAt: T0 + 300_000, ...extra,
});

export function commandStoreContract(name: string, open: () => Promise<CommandStoreHarness>): void {
  withContract(`CommandStore contract: ${name}`, open, (cs) => {

    it('creates and reads back a command exactly, params included; a second one with the same id is refused', async () => {
      const c = command('c1', { name: 'hush', device: 'sd-1', params: { durationSeconds: 300 } });
      await cs.store.create(c);
      expect(await cs.store.get('c1')).toEqual(c);
      expect(await cs.store.get('nope')).toBeUndefined();
      await expect(cs.store.create(command('c1'))).rejects.toBeInstanceOf(DuplicateError);
    });

    it('moves a command on with the time in the field of its status, and keeps it across a restart', async () => {
      await cs.store.create(command('c1'));
      expect(await cs.store.transition('c1', ['queued'], { status: 'sent', at: T0 + 10 })).toMatchObject({ status: 'sent', sentAt: T0 + 10 });
      expect(await cs.store.transition('c1', ['sent'], { status: 'delivered', at: T0 + 20 })).toMatchObject({ status: 'delivered', deliveredAt: T0 + 20 });
      const done = await cs.store.transition('c1', ['sent', 'delivered'], { status: 'succeeded', at: T0 + 30, message: 'valve closed', state: 'closed' });
      expect(done).toEqual({ ...command('c1'), status: 'succeeded', sentAt: T0 + 10, deliveredAt: T0 + 20, completedAt: T0 + 30, message: 'valve closed', state: 'closed' });
      await cs.reopen();
      expect(await cs.store.get('c1')).toEqual(done);
    });

    it('never changes a command outside the statuses the caller names: a repeated reply is a no-op', async () => {
      await cs.store.create(command('c1'));
      await cs.store.transition('c1', ['queued'], { status: 'failed', at: T0 + 5, message: 'valve jammed' });
      expect(await cs.store.transition('c1', ['queued', 'sent', 'delivered'], { status: 'succeeded', at: T0 + 9 })).toBeUndefined();
      expect(await cs.store.transition('missing', ['queued'], { status: 'sent', at: T0 })).toBeUndefined();
      expect(await cs.store.get('c1')).toMatchObject({ status: 'failed', completedAt: T0 + 5, message: 'valve jammed' });
    });

    it('lists newest first, filtered by device and status, with a total and paging', async () => {
      for (let i = 0; i < 5; i++) await cs.store.create(command(`c${i}`, { createdAt: T0 + i, device: i % 2 === 0 ? 'wm-1' : 'pm-1' }));
      await cs.store.transition('c4', ['queued'], { status: 'sent', at: T0 + 100 });
      const all = await cs.store.list({}, { limit: 2, offset: 0 });
      expect(all.total).toBe(5);
      expect(all.items.map((c) => c.id)).toEqual(['c4', 'c3']);
      expect((await cs.store.list({}, { limit: 2, offset: 4 })).items.map((c) => c.id)).toEqual(['c0']);
      const wm = await cs.store.list({ device: 'wm-1' }, { limit: 10, offset: 0 });
      expect(wm.items.map((c) => c.id)).toEqual(['c4', 'c2', 'c0']);
      expect(await cs.store.list({ device: 'wm-1', status: 'queued' }, { limit: 10, offset: 0 })).toMatchObject({ total: 2 });
      expect((await cs.store.list({ status: 'sent' }, { limit: 10, offset: 0 })).items.map((c) => c.id)).toEqual(['c4']);
      // The devices of a caller's sites: counted before paging; none matches nothing.
      expect(await cs.store.list({ devices: ['pm-1', 'gone'] }, { limit: 1, offset: 1 })).toMatchObject({ total: 2, items: [{ id: 'c1' }] });
      expect(await cs.store.list({ devices: [] }, { limit: 10, offset: 0 })).toEqual({ items: [], total: 0 });
    });

    it('answers the commands due at a time, only in the statuses asked for, oldest expiry first', async () => {
      await cs.store.create(command('late', { expiresAt: T0 + 2000 }));
      await cs.store.create(command('early', { expiresAt: T0 + 1000 }));
      await cs.store.create(command('future', { expiresAt: T0 + 9000 }));
      await cs.store.create(command('done', { expiresAt: T0 + 500, status: 'succeeded', completedAt: T0 + 400 }));
      expect((await cs.store.due(T0 + 2000, ['queued', 'sent'], 10)).map((c) => c.id)).toEqual(['early', 'late']);
      expect((await cs.store.due(T0 + 2000, ['queued'], 1)).map((c) => c.id)).toEqual(['early']);
      expect(await cs.store.due(T0 + 2000, ['delivered'], 10)).toEqual([]);
    });
  });
}
