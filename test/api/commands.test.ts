import type { MqttClient } from 'mqtt';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { createCommandService, type CommandService } from '../../commands/index.js';
import { startBroker, device, granted, nextMessage, type TestBroker } from '../broker/harness.js';
import { openStream } from '../helpers/sse.js';
import { startHarness, type Harness } from './harness.js';

/**
 * The command API over the real embedded stores and a real Aedes broker: sending (202), refusals
 * with coded errors, roles, listing and the round trip through an mqtt.js device.
 */
async function commandsHarness(minRole: 'admin' | 'operator' | 'maintenance') {
  let broker: TestBroker | undefined;
  let service: CommandService | undefined;
  const h = await startHarness({}, (d) => d, async (db, deps) => {
    broker = await startBroker();
    service = createCommandService({ sweepIntervalMs: 60_000, replyGraceMs: 1_000 }, {
      store: db.commands, devices: deps.directory, broker: broker.broker, logger: deps.logger, metrics: deps.metrics,
    });
    const s = service;
    const b = broker;
    return { deps: { ...deps, commands: { service: s, minRole } }, close: async () => { s.stop(); await b.close(); } };
  });
  return { h, broker: broker!, service: service! };
}

describe('commands API', () => {
  let h: Harness;
  let broker: TestBroker;
  let d1: MqttClient;

  beforeAll(async () => {
    ({ h, broker } = await commandsHarness('operator'));
    const provision = (body: object) => h.call('admin', { method: 'POST', url: '/api/devices', payload: body });
    expect((await provision({ id: 'd1', kind: 'water_meter', site: 's1', building: 'b1', capabilities: ['valve'] })).statusCode).toBe(201);
    expect((await provision({ id: 'd2', kind: 'power_meter', site: 's1', building: 'b1' })).statusCode).toBe(201);
    expect((await provision({ id: 'd3', kind: 'smoke_detector', site: 's1', building: 'b1', capabilities: ['hush', 'self_test'] })).statusCode).toBe(201);
    d1 = await broker.connect(device('d1'));
    expect(await granted(d1, 'devices/d1/commands/#')).toEqual([1]);
  });
  afterAll(async () => {
    await h.close();
  });

  it('keeps capabilities in the registry and refuses one the kind cannot have', async () => {
    const got = await h.call('viewer', { method: 'GET', url: '/api/devices/d1' });
    expect(got.json()).toMatchObject({ id: 'd1', capabilities: ['valve'] });
    const wrong = await h.call('admin', { method: 'POST', url: '/api/devices', payload: { id: 'd9', kind: 'smart_bin', category: 'kitchen', site: 's1', building: 'b1', capabilities: ['valve'] } });
    expect(wrong.statusCode).toBe(400);
    expect(JSON.stringify(wrong.json())).toMatch(/cannot have the valve capability/);
    const patched = await h.call('admin', { method: 'PATCH', url: '/api/devices/d2', payload: { capabilities: ['switch'] } });
    expect(patched.statusCode).toBe(200);
    expect(patched.json()).toMatchObject({ capabilities: ['switch'] });
    const badPatch = await h.call('admin', { method: 'PATCH', url: '/api/devices/d2', payload: { capabilities: ['hush'] } });
    expect(badPatch.statusCode).toBe(400);
  });

  it('sends a command (202), records who sent it, and follows it to the device\'s reply', async () => {
    const next = nextMessage(d1, 'devices/d1/commands/close');
    const res = await h.call('operator', { method: 'POST', url: '/api/devices/d1/commands', payload: { name: 'close', ttlSeconds: 120 } });
    expect(res.statusCode).toBe(202);
    const sent = res.json() as { id: string; status: string; sentBy: string; createdAt: string; expiresAt: string };
    expect(sent).toMatchObject({ device: 'd1', name: 'close', status: 'sent', sentBy: 'token:test operator' });
    expect(Date.parse(sent.expiresAt) - Date.parse(sent.createdAt)).toBe(120_000);
    const message = JSON.parse((await next).payload) as { id: string };
    expect(message.id).toBe(sent.id);
    await d1.publishAsync('devices/d1/replies', JSON.stringify({ id: sent.id, outcome: 'succeeded', state: 'closed' }), { qos: 1 });
    await vi.waitFor(async () => {
      const got = await h.call('viewer', { method: 'GET', url: `/api/commands/${sent.id}` });
      expect(got.json()).toMatchObject({ status: 'succeeded', state: 'closed', sentBy: 'token:test operator' });
      expect(got.json().completedAt).toMatch(/Z$/);
    });
  });

  it('answers coded 4xx for what cannot be sent, and sends nothing', async () => {
    const send = (url: string, payload: object) => h.call('admin', { method: 'POST', url, payload });
    const unsupported = await send('/api/devices/d1/commands', { name: 'hush' });
    expect(unsupported.statusCode).toBe(409);
    expect(unsupported.json().error.code).toBe('command_not_supported');
    expect((await send('/api/devices/d2/commands', { name: 'test' })).json().error.code).toBe('command_not_supported');
    const missing = await send('/api/devices/nope/commands', { name: 'close' });
    expect(missing.statusCode).toBe(404);
    const longHush = await send('/api/devices/d3/commands', { name: 'hush', params: { durationSeconds: 3600 } });
    expect(longHush.statusCode).toBe(400);
    expect(longHush.json().error.code).toBe('invalid_command_params');
    expect((await send('/api/devices/d1/commands', { name: 'close', ttlSeconds: 0 })).statusCode).toBe(400);
    expect((await send('/api/devices/d1/commands', { name: 'explode' })).statusCode).toBe(400);
    const listed = await h.call('viewer', { method: 'GET', url: '/api/commands?device=d3' });
    expect(listed.json()).toEqual({ items: [], total: 0 });
  });

  it('a hush within bounds gets its default duration; listing filters by device and status with paging', async () => {
    const res = await h.call('operator', { method: 'POST', url: '/api/devices/d3/commands', payload: { name: 'hush' } });
    expect(res.statusCode).toBe(202);
    // The detector has never connected: nothing would receive the command, so it is held, queued.
    expect(res.json()).toMatchObject({ params: { durationSeconds: 300 }, status: 'queued' });
    const d3 = await h.call('viewer', { method: 'GET', url: '/api/commands?device=d3&status=queued' });
    expect(d3.json()).toMatchObject({ total: 1, items: [{ name: 'hush', device: 'd3' }] });
    // It connects (a clean session) and subscribes: the held hush reaches it and is sent.
    const detector = await broker.connect(device('d3'));
    const hush = nextMessage(detector, 'devices/d3/commands/hush');
    expect(await granted(detector, 'devices/d3/commands/#')).toEqual([1]);
    expect(JSON.parse((await hush).payload)).toMatchObject({ id: res.json().id, params: { durationSeconds: 300 } });
    await vi.waitFor(async () => expect((await h.call('viewer', { method: 'GET', url: `/api/commands/${res.json().id}` })).json().status).toBe('sent'));
    detector.end();
    const page = await h.call('viewer', { method: 'GET', url: '/api/commands?limit=1&offset=0' });
    expect(page.json().items).toHaveLength(1);
    expect(page.json().total).toBeGreaterThanOrEqual(2);
    expect((await h.call('viewer', { method: 'GET', url: '/api/commands?status=bogus' })).statusCode).toBe(400);
    expect((await h.call('viewer', { method: 'GET', url: '/api/commands/none' })).statusCode).toBe(404);
  });

  it('roles: viewer and maintenance are refused by default, anonymous is 401', async () => {
    for (const role of ['viewer', 'maintenance'] as const) {
      const res = await h.call(role, { method: 'POST', url: '/api/devices/d1/commands', payload: { name: 'open' } });
      expect(res.statusCode, role).toBe(403);
    }
    expect((await h.call(null, { method: 'POST', url: '/api/devices/d1/commands', payload: { name: 'open' } })).statusCode).toBe(401);
    expect((await h.call(null, { method: 'GET', url: '/api/commands' })).statusCode).toBe(401);
  });

  it('streams every change of a command as SSE, and replays the missed ones on resume', async () => {
    await h.app.listen({ host: '127.0.0.1', port: 0 });
    const base = `http://127.0.0.1:${(h.app.server.address() as { port: number }).port}`;
    const s1 = await openStream(`${base}/api/commands/stream?access_token=${h.tokens.viewer}`);
    try {
      const res = await h.call('operator', { method: 'POST', url: '/api/devices/d1/commands', payload: { name: 'open' } });
      const id = (res.json() as { id: string }).id;
      const mine = () => s1.events.filter((e) => e.event === 'command' && (JSON.parse(e.data!) as { command: { id: string } }).command.id === id);
      await s1.waitFor(() => mine().length >= 2);
      expect(mine().map((e) => (JSON.parse(e.data!) as { command: { status: string } }).command.status)).toEqual(['queued', 'sent']);
      const first = mine()[0]!;
      const s2 = await openStream(`${base}/api/commands/stream`, { authorization: `Bearer ${h.tokens.viewer}`, 'last-event-id': String(Number(first.id) - 1) });
      try {
        await s2.waitFor(() => s2.events.some((e) => e.id === mine()[1]!.id));
        expect(s2.events[0]?.id).toBe(first.id);
      } finally {
        await s2.close();
      }
    } finally {
      await s1.close();
    }
    expect((await fetch(`${base}/api/commands/stream`)).status).toBe(401);
  });

  it('the OpenAPI document describes the command routes and schema', async () => {
    const spec = (await h.call(null, { method: 'GET', url: '/docs/json' })).json() as {
      info: { description: string }; paths: Record<string, unknown>; components: { schemas: Record<string, unknown> };
    };
    expect(spec.info.description).toContain('devices/{id}/replies');
    expect(spec.info.description).toContain('devices/{id}/commands/{name}');
    expect(Object.keys(spec.paths)).toEqual(expect.arrayContaining(['/api/devices/{id}/commands', '/api/commands', '/api/commands/{id}', '/api/commands/stream']));
    expect(spec.components.schemas.Command).toBeDefined();
  });
});

describe('commands API with ANJU_COMMAND_ROLE=maintenance', () => {
  it('lets maintenance send, still never a viewer', async () => {
    const { h } = await commandsHarness('maintenance');
    try {
      await h.call('admin', { method: 'POST', url: '/api/devices', payload: { id: 'd2', kind: 'power_meter', site: 's1', building: 'b1', capabilities: ['switch'] } });
      const ok = await h.call('maintenance', { method: 'POST', url: '/api/devices/d2/commands', payload: { name: 'reset' } });
      expect(ok.statusCode).toBe(202);
      expect(ok.json().sentBy).toBe('token:test maintenance');
      expect((await h.call('viewer', { method: 'POST', url: '/api/devices/d2/commands', payload: { name: 'reset' } })).statusCode).toBe(403);
    } finally {
      await h.close();
    }
  });
});
