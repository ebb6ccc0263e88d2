import { pino } from 'pino';
import { Registry } from 'prom-client';
import { afterEach, describe, expect, it } from 'vitest';
import { createResponder, createResponsePolicies, type Responder, type ResponseCommands, type ResponsePolicies } from '../../alerts/responses/index.js';
import type { Command, CommandInput, CommandStatus, Device } from '../../core/index.js';
import type { Incident } from '../../storage/incidents/contract.js';
import { closeHarness, deviceMap, openHarness, removeTempDirs, T0, tempDir, toReading, type Harness } from './harness.js';

/**
 * The proposal lifecycle on the real engine, incidents and DuckDB store, with an injected clock:
 * a burst proposes closing its meter's valve, a person confirms (the command goes out under the id
 * chosen with the decision) or rejects, an `auto_after` proposal is carried out by itself once its
 * minutes have passed — across a restart — and an interlocked circuit's proposal never is. The
 * command dispatcher is the one seam faked here (test/e2e/responses.test.ts runs the real one
 * through the broker): it records what it is given and reports outcomes when the test says.
 */

const MIN = 60_000;
const devices = deviceMap([
  { id: 'wm-301', kind: 'water_meter', site: 'chundu', building: 'b3', name: '3-301 户表', purpose: 'household', q3: 2.5, capabilities: ['valve'] },
  { id: 'pm-lift', kind: 'power_meter', site: 'chundu', building: 'b3', name: '3号楼电梯', purpose: 'elevator', rated_current: 32, capabilities: ['switch'] },
]);
const dev = (id: string): Device => devices.get(id) as Device;
const silent = pino({ level: 'silent' });

/** The command dispatcher's seam: commands kept across "restarts" as its store would keep them. */
function fakeCommands() {
  const stored = new Map<string, Command>();
  const listeners = new Set<(e: { command: Command }) => void>();
  const sends: Array<{ device: string; input: CommandInput; sentBy: string; id?: string }> = [];
  let hang = false;
  let refuse: Error | undefined;
  const emit = (c: Command) => {
    stored.set(c.id, c);
    for (const l of listeners) l({ command: c });
  };
  const seam: ResponseCommands & {
    sends: typeof sends; finish(id: string, status: CommandStatus, state?: string): void; hangNext(): void; refuseNext(err: Error): void;
  } = {
    sends,
    async send(device, input, sentBy, opts) {
      sends.push({ device, input, sentBy, ...(opts?.id ? { id: opts.id } : {}) });
      if (refuse) {
        const err = refuse;
        refuse = undefined;
        throw err;
      }
      if (hang) {
        hang = false;
        // The process "stops" here: the decision is stored, the command never is.
        return new Promise<Command>(() => undefined);
      }
      const known = opts?.id ? stored.get(opts.id) : undefined;
      if (known) return known;
      const c: Command = { id: opts?.id ?? `c${sends.length}`, device, name: input.name, status: 'sent', sentBy, createdAt: T0, expiresAt: T0 + 300_000 };
      emit(c);
      return c;
    },
    get: async (id) => stored.get(id),
    subscribe(l) {
      listeners.add(l);
      return () => listeners.delete(l);
    },
    finish(id, status, state) {
      emit({ ...stored.get(id)!, status, ...(state ? { state } : {}) });
    },
    hangNext() {
      hang = true;
    },
    refuseNext(err) {
      refuse = err;
    },
  };
  return seam;
}

interface Node { h: Harness; policies: ResponsePolicies; responder: Responder }

const dirs = new Map<string, Node>();
afterEach(async () => {
  for (const n of dirs.values()) await stop(n);
  dirs.clear();
  await removeTempDirs();
});

async function stop(n: Node): Promise<void> {
  n.responder.stop();
  await closeHarness(n.h);
}

async function open(dir: string, commands: ReturnType<typeof fakeCommands>, now: { ms: number }): Promise<Node> {
  let policies: ResponsePolicies | undefined;
  const h = await openHarness({
    dir, devices, now, incidentsConfig: { settleMs: 5 * MIN },
    propose: async (db) => {
      policies = createResponsePolicies({ store: db.responses, devices: { get: (id) => devices.get(id) }, clock: () => now.ms, logger: silent });
      await policies.load();
      const p = policies;
      return (i, a) => p.propose(i.site, a);
    },
  });
  const responder = createResponder({ tickMs: 3_600_000 }, {
    incidents: h.incidents, commands, policies: policies!, devices: { get: (id) => devices.get(id) }, clock: () => now.ms,
    logger: silent, metrics: new Registry(),
  });
  await responder.start();
  const node = { h, policies: policies!, responder };
  dirs.set(dir, node);
  return node;
}

/** Flow over half the meter's Q3 (2.5 m³/h → 20.8 L/min) for 31 min: the burst rule's critical level, held 30 min. */
async function burst(h: Harness, fromS: number, lpm = 30): Promise<number> {
  let t = fromS;
  for (let k = 0; k <= 31; k++, t += 60) {
    h.now.ms = T0 + t * 1000;
    await h.engine.accept([toReading(dev('wm-301'), t, { flow: lpm })]);
  }
  await h.engine.idle();
  await h.incidents.idle();
  return t;
}

/** A node on a fresh dir, its meter bursting: the water incident proposes closing the valve. */
async function burstNode(commands = fakeCommands()) {
  const dir = await tempDir();
  const now = { ms: T0 };
  const n = await open(dir, commands, now);
  await burst(n.h, 0);
  return { dir, commands, now, n, incident: n.h.incidents.active().find((i) => i.hazard === 'water')! };
}

const waterIncident = (h: Harness): Incident => h.incidents.active().find((i) => i.hazard === 'water')!;
const steps = (i: Incident) => i.timeline.filter((e) => e.event === 'response').map((e) => [(e.details as { step: string }).step, e.actor]);

describe('incident responses', () => {
  it('a burst proposes closing its valve; a person confirms, the command goes out once under its id, its outcome is recorded, and the incident clears when the flow stops', async () => {
    const dir = await tempDir();
    const commands = fakeCommands();
    const now = { ms: T0 };
    const n = await open(dir, commands, now);
    let t = await burst(n.h, 0);
    const incident = waterIncident(n.h);
    expect(incident.proposals).toEqual([expect.objectContaining({ device: 'wm-301', command: 'close', mode: 'propose', status: 'proposed', alarmType: 'water_burst' })]);
    const p = incident.proposals![0]!;
    // The raise (or the join) that proposed it carries it.
    const proposing = n.h.incidentEvents.find((e) => e.response?.step === 'proposed');
    expect(proposing?.incident.proposals?.[0]?.id).toBe(p.id);
    // Nobody decided: the tick does nothing with a proposal that waits for a person.
    expect(await n.responder.tick(now.ms + 24 * 60 * MIN)).toBe(0);
    expect(commands.sends).toEqual([]);

    now.ms += MIN;
    const confirmed = await n.responder.confirm(incident.id, p.id, 'wang');
    expect(confirmed.proposals![0]).toMatchObject({ status: 'confirmed', decidedBy: 'wang', decidedAt: now.ms, commandStatus: 'sent' });
    expect(commands.sends).toEqual([{ device: 'wm-301', input: { name: 'close' }, sentBy: 'wang', id: confirmed.proposals![0]!.commandId }]);
    await expect(n.responder.confirm(incident.id, p.id, 'li')).rejects.toMatchObject({ code: 'proposal_decided', category: 'conflict' });
    await expect(n.responder.reject(incident.id, p.id, 'li')).rejects.toMatchObject({ code: 'proposal_decided' });
    await expect(n.responder.confirm(incident.id, 'nope', 'li')).rejects.toMatchObject({ code: 'proposal_not_found', category: 'not_found' });
    expect(commands.sends).toHaveLength(1);

    commands.finish(confirmed.proposals![0]!.commandId!, 'succeeded', 'closed');
    await n.h.incidents.idle();
    const after = waterIncident(n.h);
    expect(after.proposals![0]).toMatchObject({ commandStatus: 'succeeded', commandState: 'closed' });
    expect(steps(after)).toEqual([['proposed', 'rule:response'], ['confirmed', 'wang'], ['succeeded', 'rule:response']]);
    const outcome = n.h.incidentEvents.find((e) => e.response?.step === 'succeeded');
    expect(outcome).toMatchObject({ type: 'updated', incident: { id: incident.id } });

    // The valve closed: no flow. The burst clears by its rule, and the incident settles.
    for (let k = 0; k < 3; k++, t += 60) {
      now.ms = T0 + t * 1000;
      await n.h.engine.accept([toReading(dev('wm-301'), t, { flow: 0 })]);
    }
    await n.h.engine.idle();
    await n.h.incidents.idle();
    expect(n.h.engine.active().filter((a) => a.type === 'water_burst')).toEqual([]);
    now.ms += 6 * MIN;
    await n.h.incidents.tick(now.ms);
    await n.h.incidents.idle();
    expect(await n.h.incidents.get(incident.id)).toMatchObject({ status: 'cleared_unack' });
  });

  it('auto_after: carried out by itself N minutes after the proposal, across a restart, as auto:response', async () => {
    const dir = await tempDir();
    const commands = fakeCommands();
    const now = { ms: T0 };
    let n = await open(dir, commands, now);
    await n.policies.put('chundu', {
      allowAuto: true, rules: [{ alarm: 'water_burst', purposes: ['household'], command: 'close', mode: 'auto_after', autoAfterMinutes: 10 }],
    }, 'token:admin');
    await burst(n.h, 0);
    const incident = waterIncident(n.h);
    const p = incident.proposals![0]!;
    expect(p).toMatchObject({ mode: 'auto_after', autoAt: p.createdAt + 10 * MIN, status: 'proposed' });

    expect(await n.responder.tick(p.createdAt + 9 * MIN)).toBe(0);
    await stop(n);
    dirs.delete(dir);
    // Restart: the proposal, its time and the site's policy come back from the database.
    now.ms = p.createdAt + 10 * MIN;
    n = await open(dir, commands, now);
    expect(waterIncident(n.h).proposals![0]).toMatchObject({ id: p.id, status: 'proposed', autoAt: p.autoAt });
    expect(n.policies.policyFor('chundu').allowAuto).toBe(true);
    expect(await n.responder.tick(now.ms)).toBe(1);
    const performed = waterIncident(n.h).proposals![0]!;
    expect(performed).toMatchObject({ status: 'performed', decidedBy: 'auto:response', commandStatus: 'sent' });
    expect(commands.sends).toEqual([{ device: 'wm-301', input: { name: 'close' }, sentBy: 'auto:response', id: performed.commandId }]);
    expect(await n.responder.tick(now.ms + MIN)).toBe(0);
    expect(steps(waterIncident(n.h))).toEqual([['proposed', 'rule:response'], ['performed', 'auto:response']]);
  });

  it('a confirmation stored just before the process stopped is sent after the restart, under the same id, once', async () => {
    const { dir, commands, now, incident, ...first } = await burstNode();
    let n = first.n;
    commands.hangNext();
    void n.responder.confirm(incident.id, incident.proposals![0]!.id, 'wang');
    await n.h.incidents.idle();
    await expect.poll(() => commands.sends.length).toBe(1);
    const decided = waterIncident(n.h).proposals![0]!;
    expect(decided).toMatchObject({ status: 'confirmed' });
    expect(decided.commandStatus).toBeUndefined();
    await stop(n);
    dirs.delete(dir);
    n = await open(dir, commands, now);
    await n.h.incidents.idle();
    expect(commands.sends.map((s) => [s.id, s.sentBy])).toEqual([[decided.commandId, 'wang'], [decided.commandId, 'wang']]);
    expect(waterIncident(n.h).proposals![0]).toMatchObject({ commandId: decided.commandId, commandStatus: 'sent' });
    // A third start finds it sent: nothing again.
    await stop(n);
    dirs.delete(dir);
    n = await open(dir, commands, now);
    expect(commands.sends).toHaveLength(2);
  });

  it('an outcome announced while a restart reads the command is recorded, not dropped', async () => {
    const { dir, commands, now, incident, ...first } = await burstNode();
    let n = first.n;
    await n.responder.confirm(incident.id, incident.proposals![0]!.id, 'wang');
    await n.h.incidents.idle();
    const { commandId } = waterIncident(n.h).proposals![0]!;
    expect(waterIncident(n.h).proposals![0]).toMatchObject({ commandStatus: 'sent' });
    await stop(n);
    dirs.delete(dir);
    // Found in review: the start-up read of a command in flight could answer `sent` while the device's
    // `expired` was announced — and dropped, the command not tracked yet. The proposal said `sent` for good.
    const racing: typeof commands = {
      ...commands,
      async get(id) {
        const stale = await commands.get(id);
        commands.finish(id, 'expired');
        return stale;
      },
    };
    n = await open(dir, racing, now);
    await n.h.incidents.idle();
    expect(waterIncident(n.h).proposals![0]).toMatchObject({ commandId, commandStatus: 'expired' });
    expect(steps(waterIncident(n.h)).map(([step]) => step)).toContain('expired');
  });

  it('the dispatcher\'s answer to the send does not take a command back from delivered to sent', async () => {
    const commands = fakeCommands();
    // The device's `delivered` is announced before send() returns its `sent` copy.
    const eager: typeof commands = {
      ...commands,
      async send(device, input, sentBy, opts) {
        const c = await commands.send(device, input, sentBy, opts);
        commands.finish(c.id, 'delivered');
        return c;
      },
    };
    const { n, incident } = await burstNode(eager);
    await n.responder.confirm(incident.id, incident.proposals![0]!.id, 'wang');
    await n.h.incidents.idle();
    expect(waterIncident(n.h).proposals![0]).toMatchObject({ commandStatus: 'delivered' });
  });

  it('what came of the command is recorded whatever it was: refused before it was sent, expired on its way', async () => {
    const dir = await tempDir();
    const commands = fakeCommands();
    const now = { ms: T0 };
    const n = await open(dir, commands, now);
    await burst(n.h, 0);
    const incident = waterIncident(n.h);
    commands.refuseNext(Object.assign(new Error('this water_meter does not declare the "valve" capability'), { code: 'command_not_supported' }));
    const refused = await n.responder.confirm(incident.id, incident.proposals![0]!.id, 'wang');
    expect(refused.proposals![0]).toMatchObject({ status: 'confirmed', commandStatus: 'failed', commandMessage: expect.stringMatching(/^not sent: .*valve/) });
    expect(steps(refused)).toEqual([['proposed', 'rule:response'], ['confirmed', 'wang'], ['failed', 'rule:response']]);

    // A failed command lets the next alarm of the incident propose it again: the burst stops, starts again, and joins it.
    now.ms = T0 + 40 * 60_000;
    await n.h.engine.accept([toReading(dev('wm-301'), 40 * 60, { flow: 0 })]);
    await burst(n.h, 41 * 60);
    const reproposed = waterIncident(n.h);
    expect(reproposed.id).toBe(incident.id);
    const open2 = reproposed.proposals!.find((p) => p.status === 'proposed')!;
    expect(reproposed.proposals).toHaveLength(2);
    const sent = await n.responder.confirm(reproposed.id, open2.id, 'li');
    const cmd = sent.proposals!.find((p) => p.id === open2.id)!.commandId!;
    commands.finish(cmd, 'expired');
    await n.h.incidents.idle();
    const after = (await n.h.incidents.get(reproposed.id))!;
    expect(after.proposals!.find((p) => p.id === open2.id)).toMatchObject({ commandStatus: 'expired' });
    expect(steps(after).at(-1)).toEqual(['expired', 'rule:response']);
  });

  it('interlock: critical residual current on an elevator circuit is proposed, flagged, never carried out by itself; a person may reject it', async () => {
    const dir = await tempDir();
    const commands = fakeCommands();
    const now = { ms: T0 };
    const n = await open(dir, commands, now);
    await n.policies.put('chundu', {
      allowAuto: true, rules: [{ alarm: 'residual_current', minSeverity: 'critical', command: 'open', mode: 'auto_after', autoAfterMinutes: 1 }],
    }, 'token:admin');
    await n.h.engine.accept([toReading(dev('pm-lift'), 0, { residual_current: 650, power: 3000 })]);
    await n.h.engine.idle();
    await n.h.incidents.idle();
    const incident = n.h.incidents.active().find((i) => i.hazard === 'electrical')!;
    const p = incident.proposals![0]!;
    expect(p).toMatchObject({ device: 'pm-lift', command: 'open', mode: 'propose', interlock: { code: 'interlock_power_continuity', standard: 'GB 50016-2014 §7.3, §10.1' } });
    expect(p.autoAt).toBeUndefined();
    expect(await n.responder.tick(T0 + 24 * 60 * MIN)).toBe(0);
    expect(commands.sends).toEqual([]);
    now.ms += 2 * MIN;
    const rejected = await n.responder.reject(incident.id, p.id, 'li', '电梯有人，先派人到场');
    expect(rejected.proposals![0]).toMatchObject({ status: 'rejected', decidedBy: 'li', reason: '电梯有人，先派人到场' });
    expect(steps(rejected)).toEqual([['proposed', 'rule:response'], ['rejected', 'li']]);
    expect(rejected.timeline.at(-1)).toMatchObject({ event: 'response', text: '电梯有人，先派人到场', details: { interlock: 'interlock_power_continuity' } });
    await expect(n.responder.confirm(incident.id, p.id, 'wang')).rejects.toMatchObject({ code: 'proposal_decided' });
    expect(commands.sends).toEqual([]);
  });

  it('a site that stops allowing automatic actions: a due proposal waits for a person; an incident that clears withdraws what nobody decided', async () => {
    const dir = await tempDir();
    const commands = fakeCommands();
    const now = { ms: T0 };
    const n = await open(dir, commands, now);
    await n.policies.put('chundu', {
      allowAuto: true, rules: [{ alarm: 'water_burst', command: 'close', mode: 'auto_after', autoAfterMinutes: 5 }],
    }, 'token:admin');
    await burst(n.h, 0);
    const incident = waterIncident(n.h);
    await n.policies.put('chundu', { allowAuto: false, rules: [{ alarm: 'water_burst', command: 'close', mode: 'auto_after', autoAfterMinutes: 5 }] }, 'token:admin');
    expect(await n.responder.tick(now.ms + 6 * MIN)).toBe(0);
    const demoted = waterIncident(n.h).proposals![0]!;
    expect(demoted).toMatchObject({ status: 'proposed', mode: 'propose' });
    expect(demoted.autoAt).toBeUndefined();
    expect(commands.sends).toEqual([]);
    now.ms += 7 * MIN;
    const cleared = await n.h.incidents.clear(incident.id, 'wang');
    expect(cleared.proposals![0]).toMatchObject({ status: 'withdrawn', decidedBy: 'rule:incident' });
    expect(steps(cleared).at(-1)).toEqual(['withdrawn', 'rule:incident']);
    await expect(n.responder.confirm(incident.id, demoted.id, 'wang')).rejects.toMatchObject({ code: 'proposal_decided' });
  });
});
