import { pino } from 'pino';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { createEscalation, defaultEscalationConfig, type EscalationConfig } from '../../alerts/escalation.js';
import type { ReminderEvent } from '../../alerts/notifiers/index.js';
import { closeHarness, deviceMap, openHarness, removeTempDirs, T0, tempDir, toReading, type Harness } from './harness.js';

/** Escalation and reminders of incidents, on a real engine, incidents and store, with an injected clock and runOnce. */

const MIN = 60_000;
const devices = deviceMap([
  { id: 'sd1', kind: 'smoke_detector', site: 's1', building: 'b1' },
  { id: 'bin1', kind: 'smart_bin', site: 's1', building: 'b1', category: 'residual' },
]);
const dev = (id: string) => devices.get(id) as NonNullable<ReturnType<typeof devices.get>>;

describe('escalation', () => {
  let h: Harness | undefined;
  afterEach(async () => {
    if (h) await closeHarness(h);
    h = undefined;
    await removeTempDirs();
  });

  async function setup(config: Partial<EscalationConfig> = {}) {
    const harness = await openHarness({ dir: await tempDir(), devices });
    h = harness;
    const reminders: ReminderEvent[] = [];
    const esc = createEscalation({ ...defaultEscalationConfig, ...config }, {
      incidents: harness.incidents, clock: () => harness.now.ms, logger: pino({ level: 'silent' }), remind: (e) => reminders.push(e),
    });
    // A critical fire pre-alarm (one smoke detector) and a major bin overflow, both at T0: two incidents.
    await harness.engine.accept([toReading(dev('sd1'), 0, { smoke: 0.5, alarm: true }), toReading(dev('bin1'), 0, { fill: 95 })]);
    await harness.engine.idle();
    await harness.incidents.idle();
    const byHazard = Object.fromEntries(harness.incidents.active().map((i) => [i.hazard, i]));
    expect(byHazard.fire?.severity).toBe('critical');
    expect(byHazard.waste?.severity).toBe('major');
    return { harness, esc, reminders, smoke: byHazard.fire?.id ?? '', bin: byHazard.waste?.id ?? '' };
  }

  it('escalates critical after 5 min and major after 30 min, not before', async () => {
    const { harness, esc, smoke, bin } = await setup({ reminderEveryMs: 24 * 60 * MIN });
    expect((await esc.runOnce(T0 + 5 * MIN - 1)).escalated).toEqual([]);
    expect((await esc.runOnce(T0 + 5 * MIN)).escalated).toEqual([smoke]);
    const a = await harness.incidents.get(smoke);
    expect(a?.escalationLevel).toBe(1);
    expect(a?.timeline.at(-1)).toMatchObject({ event: 'escalated', actor: 'escalation', details: { level: 1 } });
    expect(harness.incidentEvents.at(-1)).toMatchObject({ type: 'escalated', incident: { id: smoke, escalationLevel: 1 } });
    // The next level after another 5 minutes; the major not before its 30.
    expect((await esc.runOnce(T0 + 9 * MIN)).escalated).toEqual([]);
    expect((await esc.runOnce(T0 + 10 * MIN)).escalated).toEqual([smoke]);
    expect((await esc.runOnce(T0 + 30 * MIN - 1)).escalated).toEqual([smoke]);
    expect((await esc.runOnce(T0 + 30 * MIN)).escalated).toEqual([bin]);
    // maxLevel (3) reached for the smoke alarm.
    expect((await esc.runOnce(T0 + 59 * MIN)).escalated).toEqual([]);
    expect((await harness.incidents.get(smoke))?.escalationLevel).toBe(3);
  });

  it('does not escalate or remind once acknowledged', async () => {
    const { harness, esc, reminders, smoke, bin } = await setup();
    harness.now.ms = T0 + MIN;
    await harness.incidents.ack(smoke, 'maintenance');
    await harness.incidents.ack(bin, 'maintenance');
    const r = await esc.runOnce(T0 + 60 * MIN);
    expect(r).toEqual({ escalated: [], reminded: [] });
    expect(reminders).toEqual([]);
    // Acknowledged as one: the incident's alarms are acknowledged too, each on its own timeline.
    for (const a of harness.engine.active()) expect(a.timeline.find((t) => t.event === 'acked')?.actor).toBe('maintenance');
  });

  it('reminds every reminderEveryMs after the raise or the latest escalation, until acknowledged', async () => {
    const { harness, esc, reminders, smoke, bin } = await setup({ criticalAfterMs: 5 * MIN, majorAfterMs: 600 * MIN, maxLevel: 1, reminderEveryMs: 15 * MIN });
    await esc.runOnce(T0 + 5 * MIN); // escalation of the smoke alarm, no reminder
    expect(reminders).toEqual([]);
    expect((await esc.runOnce(T0 + 15 * MIN)).reminded).toEqual([bin]);
    expect((await esc.runOnce(T0 + 20 * MIN - 1)).reminded).toEqual([]);
    expect((await esc.runOnce(T0 + 20 * MIN)).reminded).toEqual([smoke]);
    expect((await esc.runOnce(T0 + 30 * MIN)).reminded).toEqual([bin]);
    expect(reminders.map((r) => [r.incident.id, r.reminder, r.type])).toEqual([[bin, 1, 'reminder'], [smoke, 1, 'reminder'], [bin, 2, 'reminder']]);
    harness.now.ms = T0 + 31 * MIN;
    await harness.incidents.ack(smoke, 'maintenance');
    expect((await esc.runOnce(T0 + 35 * MIN)).reminded).toEqual([]);
    expect((await esc.runOnce(T0 + 45 * MIN)).reminded).toEqual([bin]);
  });

  it('decides each incident as it is when its turn comes: one acknowledged while another escalated gets no reminder', async () => {
    const { harness, reminders, smoke, bin } = await setup();
    // The smoke incident escalates first; while its escalation awaits its commit, the bin incident is
    // acknowledged. A check walking the list it read before that await reminded the bin as unacknowledged.
    const esc = createEscalation({ ...defaultEscalationConfig, criticalAfterMs: 5 * MIN, majorAfterMs: 600 * MIN, reminderEveryMs: 15 * MIN }, {
      incidents: {
        active: () => [...harness.incidents.active()].sort((a) => (a.id === smoke ? -1 : 1)),
        escalate: async (...args) => {
          await harness.incidents.ack(bin, 'maintenance');
          return harness.incidents.escalate(...args);
        },
      },
      clock: () => harness.now.ms, logger: pino({ level: 'silent' }), remind: (e) => reminders.push(e),
    });
    harness.now.ms = T0 + 15 * MIN;
    expect(await esc.runOnce(T0 + 15 * MIN)).toEqual({ escalated: [smoke], reminded: [] });
    expect(reminders).toEqual([]);
    expect((await harness.incidents.get(bin))?.status).toBe('active_ack');
  });

  it('runs on its node-cron schedule between start() and stop()', async () => {
    const { harness, esc, smoke } = await setup({ cron: '* * * * * *' });
    harness.now.ms = T0 + 6 * MIN;
    esc.start();
    await vi.waitFor(async () => expect((await harness.incidents.get(smoke))?.escalationLevel).toBe(1), { timeout: 15_000, interval: 100 });
    await esc.stop();
  });

  it('refuses an invalid cron expression', () => {
    expect(() => createEscalation({ ...defaultEscalationConfig, cron: 'every minute' }, { incidents: { active: () => [], escalate: async () => { throw new Error('x'); } }, clock: Date.now, logger: pino({ level: 'silent' }) })).toThrow(/cron/);
  });
});
