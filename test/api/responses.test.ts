import { Registry } from 'prom-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createIncidents, defaultIncidentsConfig, type Incidents } from '../../alerts/incidents/manager.js';
import { createAlertEngine, defaultAlertEngineConfig, type AlertEngine } from '../../alerts/index.js';
import { createResponder, createResponsePolicies, type ResponseCommands } from '../../alerts/responses/index.js';
import type { Command, Device } from '../../core/index.js';
import { feed, startHarness, T0, type Harness } from './harness.js';

/**
 * The response routes on the real DuckDB stores, engine and incidents: a site's policy read by any
 * role and replaced by an admin (validated, coded 400s), proposals confirmed or rejected by the
 * command role only, refusals coded, and the OpenAPI document naming the new schemas. The command
 * dispatcher is the one seam faked (test/e2e/responses.test.ts runs the real one).
 */

describe('api responses', () => {
  const now = { ms: T0 };
  let h: Harness;
  let engine: AlertEngine;
  let incidents: Incidents;
  const sent: Array<{ device: string; sentBy: string; id?: string }> = [];
  let circuit: Device;

  beforeAll(async () => {
    const commands: ResponseCommands = {
      async send(device, input, sentBy, opts) {
        sent.push({ device, sentBy, ...(opts?.id ? { id: opts.id } : {}) });
        return { id: opts?.id ?? 'c', device, name: input.name, status: 'sent', sentBy, createdAt: now.ms, expiresAt: now.ms + 300_000 } satisfies Command;
      },
      get: async () => undefined,
      subscribe: () => () => undefined,
    };
    h = await startHarness({}, (d) => d, async (db, deps) => {
      const clock = () => now.ms;
      const e = createAlertEngine(defaultAlertEngineConfig, { store: db.alarms, devices: deps.directory, logger: deps.logger, metrics: deps.metrics, clock });
      await e.start();
      const policies = createResponsePolicies({ store: db.responses, devices: deps.directory, clock, logger: deps.logger });
      await policies.load();
      const i = createIncidents(defaultIncidentsConfig, {
        engine: e, store: db.incidents, logger: deps.logger, metrics: deps.metrics, clock, propose: (x, a) => policies.propose(x.site, a),
      });
      await i.start();
      const responder = createResponder({ tickMs: 3_600_000 }, {
        incidents: i, commands, policies, devices: deps.directory, clock, logger: deps.logger, metrics: new Registry(),
      });
      await responder.start();
      engine = e;
      incidents = i;
      return {
        deps: { ...deps, alerts: { engine: e, incidents: i }, responses: { policies, responder, minRole: 'operator' } },
        close: async () => { responder.stop(); await e.close(); await i.close(); },
      };
    });
    await h.deps.state.upsertSite({ id: 'chundu', name: '春都社区', timezone: 'Asia/Shanghai' });
    circuit = (await h.deps.directory.create({
      id: 'pm-b3-light', kind: 'power_meter', site: 'chundu', building: 'b3', name: '3号楼公共照明', purpose: 'common_lighting', rated_current: 16, capabilities: ['switch'],
    })).device;
  });
  afterAll(async () => {
    await h.close();
  });

  it('a site\'s policy: the default until an admin replaces it, validated with coded errors', async () => {
    const get = await h.call('viewer', { method: 'GET', url: '/api/responses/sites/chundu' });
    expect(get.statusCode).toBe(200);
    expect(get.json()).toMatchObject({ site: 'chundu', source: 'default', policy: { allowAuto: false } });
    expect((await h.call('viewer', { method: 'GET', url: '/api/responses/sites/nowhere' })).json()).toMatchObject({ error: { code: 'not_found' } });

    const policy = { allowAuto: true, rules: [{ alarm: 'residual_current', minSeverity: 'critical', command: 'open', mode: 'auto_after', autoAfterMinutes: 15 }] };
    expect((await h.call('operator', { method: 'PUT', url: '/api/responses/sites/chundu', payload: policy })).statusCode).toBe(403);
    const bad = await h.call('admin', { method: 'PUT', url: '/api/responses/sites/chundu', payload: { rules: [{ alarm: 'residual_current', command: 'open', mode: 'auto_after' }] } });
    expect(bad.statusCode).toBe(400);
    expect(bad.json().error.message).toMatch(/autoAfterMinutes/);
    expect((await h.call('admin', { method: 'PUT', url: '/api/responses/sites/chundu', payload: { rules: [{ alarm: 'flood', command: 'open' }] } })).statusCode).toBe(400);
    const put = await h.call('admin', { method: 'PUT', url: '/api/responses/sites/chundu', payload: policy });
    expect(put.statusCode).toBe(200);
    expect(put.json()).toMatchObject({ source: 'site', policy, updatedBy: 'token:bootstrap-admin' });
    const removed = await h.call('admin', { method: 'DELETE', url: '/api/responses/sites/chundu' });
    expect(removed.json()).toMatchObject({ source: 'default' });
  });

  it('proposals: confirmed or rejected by the command role only; the command is sent as the token; refusals coded', async () => {
    await feed(engine, circuit, T0, { residual_current: 620, power: 800 });
    await engine.idle();
    await incidents.idle();
    const list = (await h.call('viewer', { method: 'GET', url: '/api/incidents?hazard=electrical' })).json() as { items: Array<{ id: string; proposals?: Array<{ id: string }> }> };
    const incident = list.items[0]!;
    expect(incident.proposals).toEqual([expect.objectContaining({ device: 'pm-b3-light', command: 'open', mode: 'propose', status: 'proposed' })]);
    const pid = incident.proposals![0]!.id;
    const url = (action: string, p = pid) => `/api/incidents/${incident.id}/proposals/${p}/${action}`;

    for (const role of ['viewer', 'maintenance'] as const) {
      expect((await h.call(role, { method: 'POST', url: url('confirm') })).statusCode, role).toBe(403);
      expect((await h.call(role, { method: 'POST', url: url('reject') })).statusCode, role).toBe(403);
    }
    expect((await h.call(null, { method: 'POST', url: url('confirm') })).statusCode).toBe(401);
    expect((await h.call('operator', { method: 'POST', url: url('confirm', 'no-such') })).json()).toMatchObject({ error: { code: 'proposal_not_found' } });
    expect((await h.call('operator', { method: 'POST', url: url('confirm', 'bad id!') })).statusCode).toBe(400);
    expect(sent).toEqual([]);

    now.ms = T0 + 60_000;
    const ok = await h.call('operator', { method: 'POST', url: url('confirm') });
    expect(ok.statusCode).toBe(200);
    const p = ok.json().proposals[0];
    expect(p).toMatchObject({ status: 'confirmed', decidedBy: 'test operator', sentBy: 'token:test operator', commandStatus: 'sent', decidedAt: new Date(T0 + 60_000).toISOString() });
    expect(sent).toEqual([{ device: 'pm-b3-light', sentBy: 'token:test operator', id: p.commandId }]);
    expect(ok.json().timeline.filter((t: { event: string }) => t.event === 'response').map((t: { details: { step: string } }) => t.details.step)).toEqual(['proposed', 'confirmed']);
    const twice = await h.call('admin', { method: 'POST', url: url('reject'), payload: { reason: 'too late' } });
    expect(twice.statusCode).toBe(409);
    expect(twice.json().error.code).toBe('proposal_decided');
    expect(sent).toHaveLength(1);

    // Rejected with no body (as the control room's 拒绝 posts it): no reason, nothing sent.
    const other = (await h.deps.directory.create({
      id: 'pm-b4-light', kind: 'power_meter', site: 'chundu', building: 'b4', purpose: 'common_lighting', rated_current: 16, capabilities: ['switch'],
    })).device;
    await feed(engine, other, T0 + 90_000, { residual_current: 700 });
    await engine.idle();
    await incidents.idle();
    const second = incidents.active().find((i) => i.building === 'b4')!;
    const rejected = await h.call('operator', { method: 'POST', url: `/api/incidents/${second.id}/proposals/${second.proposals![0]!.id}/reject` });
    expect(rejected.statusCode, rejected.body).toBe(200);
    expect(rejected.json().proposals[0]).toMatchObject({ status: 'rejected', decidedBy: 'test operator' });
    expect(rejected.json().proposals[0].reason).toBeUndefined();
    expect(sent).toHaveLength(1);
  });

  it('the OpenAPI document names the proposal and policy schemas and the routes', async () => {
    const doc = (await h.call(null, { method: 'GET', url: '/docs/json' })).json() as { paths: Record<string, unknown>; components: { schemas: Record<string, unknown> } };
    expect(Object.keys(doc.components.schemas)).toEqual(expect.arrayContaining(['Proposal', 'ResponsePolicy', 'Incident']));
    expect(Object.keys(doc.paths)).toEqual(expect.arrayContaining([
      '/api/incidents/{id}/proposals/{pid}/confirm', '/api/incidents/{id}/proposals/{pid}/reject', '/api/responses/sites/{site}',
    ]));
  });
});
