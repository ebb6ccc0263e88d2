import { describe, expect, it } from 'vitest';
import { alarmStoreContract } from './alarm-store.contract.js';
import { embeddedStoreHarness } from './embedded-harness.js';

alarmStoreContract('embedded DuckDB', embeddedStoreHarness('alarm-store', (db) => db.alarms));

describe('embedded alarm store: rule state saved on a connection of its own', () => {
  it('a large rule-state save does not hold the state connection: an alarm read issued after it is answered first', async () => {
    const h = await embeddedStoreHarness('rule-state', (db) => db)();
    try {
      const state = new Map<string, unknown>(Array.from({ length: 100_000 }, (_, i) => [`heat/device/sd-${i}`, { since: i, window: [1, 2, 3, 4, 5] }]));
      const order: string[] = [];
      const saving = h.store.alarms.saveRuleState(state).then(() => order.push('rule state saved'));
      const reading = h.store.alarms.get('a-1').then(() => order.push('alarm read'));
      await Promise.all([saving, reading]);
      expect(order).toEqual(['alarm read', 'rule state saved']);
      expect((await h.store.alarms.loadRuleState()).size).toBe(100_000);
    } finally {
      await h.cleanup();
    }
  });
});
