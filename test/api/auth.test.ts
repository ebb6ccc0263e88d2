import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ensureAdminToken } from '../../api/bootstrap.js';
import { hashToken } from '../../core/secrets.js';
import { startHarness, type Harness } from './harness.js';

/** Every route but /health, with a parameter filled in where it has one. */
const protectedRoutes: Array<{ method: 'GET' | 'POST' | 'PATCH' | 'DELETE'; url: string }> = [
  { method: 'GET', url: '/metrics' },
  { method: 'GET', url: '/api/devices' },
  { method: 'POST', url: '/api/devices' },
  { method: 'GET', url: '/api/devices/d1' },
  { method: 'PATCH', url: '/api/devices/d1' },
  { method: 'DELETE', url: '/api/devices/d1' },
  { method: 'POST', url: '/api/devices/d1/secret' },
  { method: 'GET', url: '/api/devices/d1/latest' },
  { method: 'GET', url: '/api/devices/d1/telemetry' },
  { method: 'GET', url: '/api/sites' },
  { method: 'GET', url: '/api/sites/s1/buildings' },
  { method: 'GET', url: '/api/ingest/rejects' },
  { method: 'GET', url: '/api/tokens' },
  { method: 'POST', url: '/api/tokens' },
  { method: 'DELETE', url: '/api/tokens/t1' },
  { method: 'GET', url: '/no/such/route' },
];

describe('api auth', () => {
  let h: Harness;
  beforeAll(async () => {
    // Dozens of deliberate 401s from one address: the failure limit (tested in hardening.test.ts) is off here.
    h = await startHarness({ authFailuresPerMinute: 0 });
  });
  afterAll(async () => {
    await h.close();
  });

  it('answers /health without a token, 503 when down', async () => {
    const ok = await h.call(null, { method: 'GET', url: '/health' });
    expect(ok.statusCode).toBe(200);
    expect(ok.json()).toEqual({ status: 'ok', checks: { store: { status: 'ok' } } });
    h.health.report = { status: 'degraded', checks: { store: { status: 'degraded', detail: 'spooling' } } };
    expect((await h.call(null, { method: 'GET', url: '/health' })).statusCode).toBe(200);
    h.health.report = { status: 'down', checks: { store: { status: 'down' } } };
    const down = await h.call(null, { method: 'GET', url: '/health' });
    expect(down.statusCode).toBe(503);
    expect(down.json().status).toBe('down');
    h.health.report = { status: 'ok', checks: {} };
  });

  it.each(protectedRoutes)('$method $url needs a token (401 without, 401 with a bad one)', async ({ method, url }) => {
    const none = await h.app.inject({ method, url, payload: method === 'POST' || method === 'PATCH' ? {} : undefined });
    expect(none.statusCode).toBe(401);
    expect(none.json().error.code).toBe('unauthorized');
    for (const authorization of ['Bearer anju_not-a-real-token', 'Basic YWRtaW46YWRtaW4=', 'Bearer']) {
      const bad = await h.app.inject({ method, url, headers: { authorization } });
      expect(bad.statusCode, authorization).toBe(401);
      expect(bad.json().error.code).toBe('unauthorized');
    }
  });

  it('lets any role read but only admins write devices and tokens', async () => {
    for (const role of ['viewer', 'maintenance', 'operator', 'admin'] as const) {
      expect((await h.call(role, { method: 'GET', url: '/api/devices' })).statusCode, role).toBe(200);
    }
    const body = { id: 'sd-1', kind: 'smoke_detector', site: 's1', building: 'b1' };
    for (const role of ['viewer', 'maintenance', 'operator'] as const) {
      const res = await h.call(role, { method: 'POST', url: '/api/devices', payload: body });
      expect(res.statusCode, role).toBe(403);
      expect(res.json().error.code).toBe('forbidden');
      expect((await h.call(role, { method: 'GET', url: '/api/tokens' })).statusCode, role).toBe(403);
    }
    expect(h.deps.directory.get('sd-1')).toBeUndefined();
  });

  it('creates, lists and revokes tokens; a revoked token stops working at once', async () => {
    const created = await h.call('admin', { method: 'POST', url: '/api/tokens', payload: { name: 'grafana', role: 'viewer' } });
    expect(created.statusCode).toBe(201);
    const { id, token, role, createdAt } = created.json();
    expect(token).toMatch(/^anju_/);
    expect(role).toBe('viewer');
    expect(new Date(createdAt).toISOString()).toBe(createdAt);

    const list = await h.call('admin', { method: 'GET', url: '/api/tokens' });
    expect(list.json().items.some((t: { id: string }) => t.id === id)).toBe(true);
    expect(list.body).not.toContain(token);

    const use = () => h.app.inject({ method: 'GET', url: '/api/sites', headers: { authorization: `Bearer ${token}` } });
    expect((await use()).statusCode).toBe(200);
    expect((await h.call('admin', { method: 'DELETE', url: `/api/tokens/${id}` })).statusCode).toBe(204);
    expect((await use()).statusCode).toBe(401);
    expect((await h.call('admin', { method: 'DELETE', url: `/api/tokens/${id}` })).statusCode).toBe(404);
  });

  it('refuses a token with an unknown role or extra keys', async () => {
    const res = await h.call('admin', { method: 'POST', url: '/api/tokens', payload: { name: 'x', role: 'root' } });
    expect(res.statusCode).toBe(400);
    expect(res.json().error.code).toBe('validation_failed');
  });

  it('will not revoke the last admin token', async () => {
    const admins = (await h.db.state.listTokens()).filter((t) => t.role === 'admin');
    expect(admins).toHaveLength(1);
    const res = await h.call('admin', { method: 'DELETE', url: `/api/tokens/${admins[0]!.id}` });
    expect(res.statusCode).toBe(409);
    expect(res.json().error.code).toBe('conflict');
  });

  it('bootstraps the admin token idempotently', async () => {
    const { state } = h.db;
    // Configured token: registered once, whatever the number of restarts.
    const configured = 'configured-admin-token-0123456789';
    expect(await ensureAdminToken(configured, { state })).toEqual({});
    expect(await ensureAdminToken(configured, { state })).toEqual({});
    const found = await state.findTokenByHash(hashToken(configured));
    expect(found).toMatchObject({ name: 'bootstrap-admin', role: 'admin' });
    expect((await state.listTokens()).filter((t) => t.id === found!.id)).toHaveLength(1);
    const ok = await h.app.inject({ method: 'GET', url: '/api/tokens', headers: { authorization: `Bearer ${configured}` } });
    expect(ok.statusCode).toBe(200);
    // Admins exist: nothing is generated.
    expect(await ensureAdminToken(undefined, { state })).toEqual({});
  });

  it('generates an admin token only when there is none', async () => {
    const { state } = h.db;
    for (const t of await state.listTokens()) if (t.role === 'admin') await state.deleteToken(t.id);
    const first = await ensureAdminToken(undefined, { state });
    expect(first.generated).toMatch(/^anju_/);
    expect(await state.findTokenByHash(hashToken(first.generated!))).toMatchObject({ role: 'admin', name: 'bootstrap-admin' });
    expect(await ensureAdminToken(undefined, { state })).toEqual({});
    h.tokens.admin = first.generated!;
  });
});
