import { pino } from 'pino';
import { afterEach, describe, expect, it, vi } from 'vitest';
import type { PersonNotifier } from '../../../alerts/duty/contract.js';
import { createDutyRouter, type DutyRouter } from '../../../alerts/duty/router.js';
import { handOver, rosterActor } from '../../../alerts/duty/routing.js';
import { createEscalation, defaultEscalationConfig } from '../../../alerts/escalation.js';
import { rosterSchema } from '../../../core/roster.js';
import type { Incident } from '../../../storage/incidents/contract.js';
import { closeHarness, deviceMap, openHarness, removeTempDirs, T0, tempDir, toReading, type Harness } from '../harness.js';
import { createRecordingPersonNotifier } from './recording-notifier.js';

/**
 * Routing and escalation to people on a real engine, incidents and DuckDB store, with the injected
 * clock and runOnce. T0 is 2025-03-03 00:00 in Shanghai, a Monday: Sunday's night shift (18:00–08:00)
 * is on duty across the week boundary.
 */

const MIN = 60_000;
const devices = deviceMap([
  { id: 'sd1', kind: 'smoke_detector', site: 's1', building: 'b1' },
  { id: 'bin1', kind: 'smart_bin', site: 's1', building: 'b1', category: 'residual' },
]);
const dev = (id: string) => devices.get(id) as NonNullable<ReturnType<typeof devices.get>>;
const roster = (extra: Record<string, unknown> = {}) => rosterSchema.parse({
  site: 's1', timezone: 'Asia/Shanghai',
  shifts: [
    { days: [1, 2, 3, 4, 5, 6], start: '08:00', end: '18:00', people: ['day.shift'] },
    { days: [7], start: '18:00', end: '08:00', people: ['li.na', 'wang.fang'] },
  ],
  managers: ['zhou.min'], ...extra,
});
const person = (id: string, displayName: string, extra: Record<string, unknown> = {}) => ({
  id, login: id, displayName, grants: [{ role: 'maintenance' as const, sites: ['s1'] }], disabled: false, createdAt: T0, updatedAt: T0, phone: '13800000000', ...extra,
});

describe('duty router', () => {
  let h: Harness | undefined;
  let router: DutyRouter | undefined;
  afterEach(async () => {
    await router?.stop();
    router = undefined;
    if (h) await closeHarness(h);
    h = undefined;
    await removeTempDirs();
  });

  async function open(dir: string, now?: { ms: number }) {
    const harness = await openHarness({ dir, devices, ...(now ? { now } : {}) });
    h = harness;
    const double = createRecordingPersonNotifier();
    const r = createDutyRouter({ criticalAfterMs: 5 * MIN, majorAfterMs: 30 * MIN }, {
      incidents: harness.incidents, rosters: harness.db.rosters, accounts: harness.db.accounts, notifiers: [double],
      clock: () => harness.now.ms, logger: pino({ level: 'silent' }), metrics: harness.metrics,
    });
    router = r;
    return { harness, router: r, double };
  }

  async function setup(rosterExtra: Record<string, unknown> = {}) {
    const dir = await tempDir();
    const o = await open(dir);
    const people: Array<[string, string]> = [['li.na', '李娜'], ['wang.fang', '王芳'], ['zhou.min', '周敏'], ['day.shift', '白班']];
    for (const [id, name] of people) await o.harness.db.accounts.create(person(id, name));
    await o.harness.db.rosters.put(roster(rosterExtra), 'admin', T0 - 60 * MIN);
    await o.router.start();
    return { dir, ...o };
  }

  async function raise(harness: Harness, r: DutyRouter, id: string, fields: Record<string, number | boolean>): Promise<Incident> {
    await harness.engine.accept([toReading(dev(id), 0, fields)]);
    await harness.engine.idle();
    await harness.incidents.idle();
    await r.idle();
    const i = harness.incidents.active().find((x) => x.members.some((m) => m.originator.id === id));
    if (!i) throw new Error(`no incident for ${id}`);
    return i;
  }

  /**
   * A harness with three people and the roster, and a channel that answers `outcome` only once it is
   * closed or released: a gateway that has not answered yet.
   */
  async function openWithGateway(outcome: 'sent' | 'failed') {
    const dir = await tempDir();
    const harness = await openHarness({ dir, devices });
    h = harness;
    for (const [id, name] of [['li.na', '李娜'], ['wang.fang', '王芳'], ['zhou.min', '周敏']] as Array<[string, string]>) await harness.db.accounts.create(person(id, name));
    await harness.db.rosters.put(roster(), 'admin', T0);
    let release: () => void = () => undefined;
    const answered = new Promise<void>((r) => { release = r; });
    const notifier: PersonNotifier = {
      name: 'gateway',
      notify: async () => {
        await answered;
        return [{ channel: 'sms', target: 'gw', outcome, ...(outcome === 'failed' ? { detail: 'aborted' } : {}) }];
      },
      close: async () => release(),
    };
    return { dir, harness, notifier, release: () => release() };
  }

  const routing = (i: Incident | undefined) =>
    (i?.timeline ?? []).filter((t) => t.actor === rosterActor).map((t) => [t.event, t.details?.assignee ?? t.details?.to ?? t.details?.person]);

  it('assigns to the first on duty and pages them; unacknowledged, the next after the limit, then the manager; each step exactly once', async () => {
    const { harness, router: r, double } = await setup();
    const raised = await raise(harness, r, 'sd1', { smoke: 0.5, alarm: true });
    const fire = await harness.incidents.get(raised.id);
    expect(fire?.assignee).toBe('li.na');
    expect(routing(fire)).toEqual([['assigned', 'li.na'], ['notified', 'li.na']]);
    expect(fire?.timeline.find((t) => t.event === 'assigned')?.details).toMatchObject({ step: 0, chain: ['li.na', 'wang.fang', 'zhou.min'], source: 'pattern' });
    expect(double.pages.map((p) => [p.person.displayName, p.reason, p.step, p.ackWithinMs])).toEqual([['李娜', 'assigned', 0, 5 * MIN]]);

    // The hub's own escalation leaves a routed incident to the roster.
    const esc = createEscalation({ ...defaultEscalationConfig, reminderEveryMs: 24 * 60 * MIN }, {
      incidents: harness.incidents, clock: () => harness.now.ms, logger: pino({ level: 'silent' }), escalatedElsewhere: (i) => r.owns(i),
    });
    expect((await esc.runOnce(T0 + 5 * MIN)).escalated).toEqual([]);

    expect((await r.runOnce(T0 + 5 * MIN - 1)).escalated).toEqual([]);
    expect((await r.runOnce(T0 + 5 * MIN)).escalated).toEqual([raised.id]);
    expect((await r.runOnce(T0 + 5 * MIN)).escalated).toEqual([]);
    await r.idle();
    expect((await r.runOnce(T0 + 10 * MIN - 1)).escalated).toEqual([]);
    expect((await r.runOnce(T0 + 10 * MIN)).escalated).toEqual([raised.id]);
    await r.idle();
    // The managers end the chain: nobody after them.
    expect(await r.runOnce(T0 + 60 * MIN)).toEqual({ routed: [], escalated: [], repaged: [] });
    await r.idle();

    const after = await harness.incidents.get(raised.id);
    expect(after?.assignee).toBe('zhou.min');
    expect(after?.escalationLevel).toBe(2);
    expect(routing(after)).toEqual([
      ['assigned', 'li.na'], ['notified', 'li.na'],
      ['escalated', 'wang.fang'], ['assigned', 'wang.fang'], ['notified', 'wang.fang'],
      ['escalated', 'zhou.min'], ['assigned', 'zhou.min'], ['notified', 'zhou.min'],
    ]);
    expect(double.pages.map((p) => [p.person.id, p.reason, p.step])).toEqual([['li.na', 'assigned', 0], ['wang.fang', 'escalated', 1], ['zhou.min', 'escalated', 2]]);
    // The last of the chain is not told a limit: nobody comes after them.
    expect(double.pages[2]?.ackWithinMs).toBeUndefined();
    expect(harness.incidentEvents.filter((e) => e.incident.id === raised.id && e.type === 'escalated').map((e) => e.incident.assignee)).toEqual(['wang.fang', 'zhou.min']);
  });

  it('stops at an acknowledgement, uses the site’s own limit, and records a page that failed', async () => {
    const { harness, router: r, double } = await setup({ ackWithinMinutes: 2 });
    double.failNext = 1;
    const bin = await raise(harness, r, 'bin1', { fill: 95 });
    expect(bin.severity).toBe('major');
    const first = await harness.incidents.get(bin.id);
    expect(first?.timeline.find((t) => t.event === 'notified')?.details).toMatchObject({ person: 'li.na', channel: 'test', outcome: 'failed', detail: 'refused by the double' });
    expect((await r.runOnce(T0 + 2 * MIN)).escalated).toEqual([bin.id]);
    await r.idle();
    harness.now.ms = T0 + 3 * MIN;
    await harness.incidents.ack(bin.id, 'wang.fang');
    expect(await r.runOnce(T0 + 120 * MIN)).toEqual({ routed: [], escalated: [], repaged: [] });
    await r.idle();
    expect((await harness.incidents.get(bin.id))?.assignee).toBe('wang.fang');
    expect(double.pages.map((p) => p.person.id)).toEqual(['li.na', 'wang.fang']);
  });

  it('carries on after a restart from what the incidents store: the next step once, a page never recorded sent again', async () => {
    const { dir, harness, router: r, double } = await setup();
    const fire = await raise(harness, r, 'sd1', { smoke: 0.5, alarm: true });
    // The bin's incident is handed over while no router runs (as if the hub stopped before its page was recorded).
    await r.stop();
    router = undefined;
    await harness.engine.accept([toReading(dev('bin1'), 0, { fill: 95 })]);
    await harness.engine.idle();
    await harness.incidents.idle();
    const bin = harness.incidents.active().find((i) => i.hazard === 'waste') as Incident;
    await harness.incidents.transition(bin.id, (cur) => handOver(cur, ['wang.fang', 'zhou.min'], 0, T0));
    expect(double.pages.map((p) => p.person.id)).toEqual(['li.na']);
    await closeHarness(harness);
    h = undefined;

    const now = { ms: T0 + 6 * MIN };
    const again = await open(dir, now);
    await again.router.start();
    await again.router.idle();
    const f = await again.harness.incidents.get(fire.id);
    expect(f?.assignee).toBe('wang.fang');
    expect(routing(f).filter(([e]) => e === 'escalated')).toEqual([['escalated', 'wang.fang']]);
    const b = await again.harness.incidents.get(bin.id);
    expect(routing(b)).toEqual([['assigned', 'wang.fang'], ['notified', 'wang.fang']]);
    expect(again.double.pages.map((p) => [p.incident.id, p.person.id, p.step]).sort()).toEqual([[bin.id, 'wang.fang', 0], [fire.id, 'wang.fang', 1]].sort());
    // Nothing more until the next limit.
    expect(await again.router.runOnce(T0 + 10 * MIN)).toEqual({ routed: [], escalated: [], repaged: [] });
  });

  it('leaves a page cut short by the shutdown unrecorded, and sends it again on the next start', async () => {
    // A channel that hangs until it is closed (a gateway that never answers), then answers failed.
    const { dir, harness, notifier: hanging } = await openWithGateway('failed');
    const r = createDutyRouter({ criticalAfterMs: 5 * MIN, majorAfterMs: 30 * MIN }, {
      incidents: harness.incidents, rosters: harness.db.rosters, accounts: harness.db.accounts, notifiers: [hanging],
      clock: () => harness.now.ms, logger: pino({ level: 'silent' }), metrics: harness.metrics,
    });
    await r.start();
    await harness.engine.accept([toReading(dev('sd1'), 0, { smoke: 0.5, alarm: true })]);
    await harness.engine.idle();
    await harness.incidents.idle();
    await vi.waitFor(() => expect(harness.incidents.active()[0]?.assignee).toBe('li.na'));
    const id = harness.incidents.active()[0]?.id as string;
    await r.stop();
    expect((await harness.incidents.get(id))?.timeline.some((t) => t.event === 'notified')).toBe(false);
    await closeHarness(harness);
    h = undefined;

    const again = await open(dir, { ms: T0 + MIN });
    await again.router.start();
    await again.router.idle();
    expect(again.double.pages.map((p) => [p.person.id, p.step])).toEqual([['li.na', 0]]);
    expect(routing(await again.harness.incidents.get(id))).toEqual([['assigned', 'li.na'], ['notified', 'li.na']]);
  });

  it('cluster: the leader does not page again a step whose page is in flight on the node that routed it, until that page had time to finish', async () => {
    // Found in review: a node that is not the leader routes the incidents it raises and pages in the
    // background; the leader's check saw the step unrecorded (the page not done yet) and no page of its
    // own in flight, and paged the same person a second time.
    const { harness, notifier: gateway, release } = await openWithGateway('sent');
    const deps = { incidents: harness.incidents, rosters: harness.db.rosters, accounts: harness.db.accounts, clock: () => harness.now.ms, logger: pino({ level: 'silent' }), metrics: harness.metrics };
    const follower = createDutyRouter({ criticalAfterMs: 5 * MIN, majorAfterMs: 30 * MIN }, { ...deps, notifiers: [gateway], leads: () => false });
    const leaderPages = createRecordingPersonNotifier();
    const leader = createDutyRouter({ criticalAfterMs: 5 * MIN, majorAfterMs: 30 * MIN }, { ...deps, notifiers: [leaderPages], leads: () => true });
    router = follower;
    await follower.start();
    await harness.engine.accept([toReading(dev('sd1'), 0, { smoke: 0.5, alarm: true })]);
    await harness.engine.idle();
    await harness.incidents.idle();
    await vi.waitFor(() => expect(harness.incidents.active()[0]?.assignee).toBe('li.na'));
    expect(await leader.runOnce(T0 + 30_000)).toMatchObject({ repaged: [] });
    expect(leaderPages.pages).toEqual([]);
    // Still unrecorded long after any page could have finished (that node died mid-page): paged again.
    expect((await leader.runOnce(T0 + 4 * MIN)).repaged).toHaveLength(1);
    await leader.idle();
    expect(leaderPages.pages.map((p) => [p.person.id, p.step])).toEqual([['li.na', 0]]);
    release();
    await leader.stop();
  });

  it('routes nothing for a site without a roster, and skips people who cannot take the incident', async () => {
    const dir = await tempDir();
    const o = await open(dir);
    const none = await raise(o.harness, o.router, 'sd1', { smoke: 0.5, alarm: true });
    expect((await o.harness.incidents.get(none.id))?.assignee).toBeUndefined();
    // li.na disabled, wang.fang without a role at s1: the managers take it.
    await o.harness.db.accounts.create(person('li.na', '李娜', { disabled: true }));
    await o.harness.db.accounts.create(person('wang.fang', '王芳', { grants: [{ role: 'maintenance', sites: ['s2'] }] }));
    await o.harness.db.accounts.create(person('zhou.min', '周敏', { phone: undefined }));
    await o.harness.db.rosters.put(roster(), 'admin', T0);
    expect((await o.router.runOnce(T0 + MIN)).routed).toEqual([none.id]);
    await o.router.idle();
    const i = await o.harness.incidents.get(none.id);
    expect(i?.assignee).toBe('zhou.min');
    expect(i?.timeline.find((t) => t.event === 'notified')).toMatchObject({ text: expect.stringContaining('没有可联系'), details: { outcome: 'unreachable' } });
    expect(o.double.pages).toEqual([]);
  });
});
