import { pino } from 'pino';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { assembleHub } from '../../cli/assemble/index.js';
import type { IncidentJson, IncidentWithTimelineJson } from '../../core/index.js';
import { createFleet, pipeBurst, type Fleet } from '../../devices-sim/index.js';
import { assembledNode, silentLogger } from '../helpers/assembled.js';

/**
 * Burst → proposed close → confirmed → command succeeded → flow zero → incident clears, through the
 * parts `anju all` assembles: the embedded broker, ingest, the rule engine, incidents, the responder
 * and the command dispatcher, the API over real HTTP, and the demo's simulated household meter (its
 * valve an actuator that takes 5–20 s to travel) on a real MQTT connection, bursting by the
 * simulator's own pipe-burst scenario. The burst rule's 30 min hold is shortened for the test
 * through the rules configuration; the incident's 5 min settle time is waited out by ticking the
 * incidents at a later instant, as the hub's timer would.
 */

const token = 'e2e-admin-token-responses-0123456';
const WM = 'e2e-wm-301';

describe('acting on an incident end to end', () => {
  const node = assembledNode();
  let fleet: Fleet | undefined;
  afterEach(async () => {
    await fleet?.stop();
    fleet = undefined;
    await node.cleanup();
  });

  it('a simulated burst proposes closing the meter\'s valve; confirmed over the API, the valve closes, the flow drops to zero and the incident clears', async () => {
    const { config, db, directory, serviceAccounts, broker, metrics } = await node.prepare({ ANJU_ADMIN_TOKEN: token });
    const meter = await directory.create({
      id: WM, kind: 'water_meter', site: 'e2e', building: 'b3', name: '3-301 户表', purpose: 'household', q3: 2.5, capabilities: ['valve'],
    });
    const hub = node.track(await assembleHub(config, { db, directory, serviceAccounts, broker, logger: silentLogger, metrics }));
    await broker.open();
    // 30 min of burst held in a few seconds; everything else as shipped.
    await hub.alerts.engine.setRulesConfig({ all: { water_burst: { holdMin: 0.05 } } });
    const api = async <T>(method: string, path: string, body?: unknown): Promise<{ status: number; body: T }> => {
      const res = await fetch(`${hub.urls.http}${path}`, {
        method, headers: { authorization: `Bearer ${token}`, ...(body !== undefined ? { 'content-type': 'application/json' } : {}) },
        ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
      });
      return { status: res.status, body: (await res.json()) as T };
    };

    const device = directory.get(WM)!;
    // The simulator's valve fails 3 % of operations at random: this seed's first close succeeds.
    fleet = createFleet(
      { brokerUrl: broker.urls().mqtt!, qos: 1, intervalMs: 300, speed: 1, seed: 7, reconnectMinMs: 50, reconnectMaxMs: 400, connectSpreadMs: 10 },
      { devices: [{ device, secret: meter.secret }], logger: pino({ level: 'silent' }) },
    );
    await fleet.start();
    fleet.play(pipeBurst(WM, Date.now(), {}));

    const incident = await vi.waitFor(async () => {
      const list = await api<{ items: IncidentJson[] }>('GET', '/api/incidents?hazard=water&status=active_unack');
      const found = list.body.items.find((i) => i.proposals?.some((p) => p.device === WM));
      expect(found).toBeDefined();
      return found!;
    }, { timeout: 30_000, interval: 200 });
    const proposal = incident.proposals![0]!;
    expect(proposal).toMatchObject({ command: 'close', mode: 'propose', status: 'proposed', alarmType: 'water_burst' });

    const confirmed = await api<IncidentWithTimelineJson>('POST', `/api/incidents/${incident.id}/proposals/${proposal.id}/confirm`);
    expect(confirmed.status).toBe(200);
    const decided = confirmed.body.proposals![0]!;
    expect(decided).toMatchObject({ status: 'confirmed', decidedBy: 'bootstrap-admin' });
    expect(['queued', 'sent', 'delivered']).toContain(decided.commandStatus);
    // Confirmed twice: refused, nothing sent again.
    const again = await api<{ error: { code: string } }>('POST', `/api/incidents/${incident.id}/proposals/${proposal.id}/confirm`);
    expect(again).toMatchObject({ status: 409, body: { error: { code: 'proposal_decided' } } });

    // The command's whole lifecycle, under the id the proposal names, sent by the person who confirmed.
    const command = await vi.waitFor(async () => {
      const c = await api<{ status: string; state?: string; sentBy: string }>('GET', `/api/commands/${decided.commandId}`);
      expect(c.body.status).toBe('succeeded');
      return c.body;
    }, { timeout: 40_000, interval: 250 });
    expect(command).toMatchObject({ state: 'closed', sentBy: 'token:bootstrap-admin' });
    expect((await api<{ total: number }>('GET', `/api/commands?device=${WM}`)).body.total).toBe(1);

    // Flow zero from the meter; the burst alarm clears by its rule.
    await vi.waitFor(async () => {
      const latest = await api<{ fields: { flow: number } }>('GET', `/api/devices/${WM}/latest`);
      expect(latest.body.fields.flow).toBe(0);
      const alarms = await api<{ items: unknown[] }>('GET', `/api/alerts?type=water_burst&status=active_unack,active_ack&site=e2e`);
      expect(alarms.body.items).toEqual([]);
    }, { timeout: 30_000, interval: 250 });

    // The incident settles once its alarms stayed clear for the settle time (5 min): ticked then, as the hub's timer does.
    await hub.alerts.incidents.idle();
    await hub.alerts.incidents.tick(Date.now() + 6 * 60_000);
    const cleared = await vi.waitFor(async () => {
      const i = await api<IncidentWithTimelineJson>('GET', `/api/incidents/${incident.id}`);
      expect(i.body.status).toMatch(/^cleared_/);
      return i.body;
    }, { timeout: 10_000, interval: 100 });
    expect(cleared.proposals![0]).toMatchObject({ status: 'confirmed', commandStatus: 'succeeded', commandState: 'closed' });
    const steps = cleared.timeline.filter((t) => t.event === 'response').map((t) => [(t.details as { step: string }).step, t.actor]);
    expect(steps).toEqual([['proposed', 'rule:response'], ['confirmed', 'bootstrap-admin'], ['succeeded', 'rule:response']]);
    expect(cleared.timeline.at(-1)).toMatchObject({ event: 'cleared', actor: 'rule:incident' });
  }, 120_000);
});
