import { afterAll, describe, expect, it } from 'vitest';
import { closeHarness, deviceMap, openHarness, removeTempDirs, T0, tempDir, toReading } from './harness.js';

/**
 * The engine's tick scope (cluster mode): the time-driven checks run only for the devices this node
 * holds. A device connected to another node is silent from here; timing it here would raise an
 * `offline` that no reading here could clear. Devices out of scope still have their readings and
 * presence evaluated.
 */
afterAll(removeTempDirs);

const devices = deviceMap([
  { id: 'sd-here', kind: 'smoke_detector', site: 'chundu', building: 'b1', report_interval_s: 60 },
  { id: 'sd-elsewhere', kind: 'smoke_detector', site: 'chundu', building: 'b1', report_interval_s: 60 },
]);

describe('tick scope', () => {
  it('times the silence of held devices only, and picks a device up once it is held', async () => {
    const held = new Set(['sd-here']);
    const h = await openHarness({ dir: await tempDir(), devices, ticks: (id) => held.has(id) });
    try {
      await h.engine.tick(T0);
      h.now.ms = T0 + 10 * 60_000;
      await h.engine.tick(h.now.ms);
      await h.engine.idle();
      const raised = () => h.events.filter((e) => e.type === 'raised' && e.alarm.type === 'offline').map((e) => e.alarm.originator.id);
      // Three 60 s intervals passed for both; only the held one is called silent.
      expect(raised()).toEqual(['sd-here']);

      // A reading of the device out of scope is still evaluated (it is not timed, not ignored).
      const elsewhere = devices.get('sd-elsewhere');
      if (!elsewhere) throw new Error('fixture');
      await h.engine.accept([toReading(elsewhere, (h.now.ms - T0) / 1000, { smoke: 0.5, alarm: true })]);
      await h.engine.idle();
      expect(h.events.some((e) => e.type === 'raised' && e.alarm.type === 'smoke' && e.alarm.originator.id === 'sd-elsewhere')).toBe(true);

      // Held from now on (it connected here): silent three intervals after its last reading.
      held.add('sd-elsewhere');
      h.now.ms += 2 * 60_000;
      await h.engine.tick(h.now.ms);
      await h.engine.idle();
      expect(raised()).toEqual(['sd-here']);
      h.now.ms += 2 * 60_000;
      await h.engine.tick(h.now.ms);
      await h.engine.idle();
      expect(raised()).toEqual(['sd-here', 'sd-elsewhere']);
    } finally {
      await closeHarness(h);
    }
  });
});
