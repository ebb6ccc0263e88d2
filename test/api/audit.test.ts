import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import type { AlertEngine } from '../../alerts/index.js';
import { feed, startAlertsHarness, T0, type Harness } from './harness.js';

/** The audit trail through the real API on the real DuckDB store: every change recorded, queried and exported. */

describe('/api/audit', () => {
  const now = { ms: T0 };
  let h: Harness;
  let engine: AlertEngine;
  let alarm = '';

  beforeAll(async () => {
    ({ h, engine } = await startAlertsHarness(now, {}, (d) => d, (db, deps) => ({ ...deps, audit: db.audit, accounts: db.accounts })));
    const sd1 = (await h.deps.directory.create({ id: 'sd1', kind: 'smoke_detector', site: 'chundu', building: 'b1' })).device;
    await feed(engine, sd1, T0, { smoke: 0.5, alarm: true });
    await engine.idle();
    alarm = engine.active()[0]!.id;
    now.ms = T0 + 60_000;
  });
  afterAll(async () => {
    await h.close();
  });

  const audit = async (query = '') => {
    const res = await h.call('admin', { method: 'GET', url: `/api/audit${query}` });
    expect(res.statusCode, res.body).toBe(200);
    return res.json<{ items: Record<string, unknown>[]; total: number }>();
  };

  it('records who acknowledged, assigned, commented and cleared, from where and when; reads and refusals are not recorded', async () => {
    const act = (role: 'maintenance' | 'operator' | 'viewer', action: string, payload?: object) =>
      h.call(role, { method: 'POST', url: `/api/alerts/${alarm}/${action}`, remoteAddress: '10.1.2.3', ...(payload ? { payload } : {}) });
    expect((await act('viewer', 'ack')).statusCode).toBe(403);
    expect((await act('maintenance', 'ack')).statusCode).toBe(200);
    expect((await act('maintenance', 'ack')).statusCode).toBe(409);
    expect((await act('operator', 'assign', { assignee: '张伟' })).statusCode).toBe(200);
    expect((await act('maintenance', 'comment', { text: '已到现场' })).statusCode).toBe(200);
    expect((await act('maintenance', 'clear')).statusCode).toBe(200);
    await h.call('viewer', { method: 'GET', url: `/api/alerts/${alarm}` });
    // The hook writes after the answer went out: wait for the last of them.
    await vi.waitFor(async () => expect((await audit()).total).toBe(4));
    const { items } = await audit();
    expect(items.map((e) => [e.action, e.actor, e.role])).toEqual([
      ['alarm.clear', 't-maintenance', 'maintenance'], ['alarm.comment', 't-maintenance', 'maintenance'],
      ['alarm.assign', 't-operator', 'operator'], ['alarm.ack', 't-maintenance', 'maintenance'],
    ]);
    expect(items[3]).toMatchObject({ target: alarm, ip: '10.1.2.3', method: 'POST', path: `/api/alerts/${alarm}/ack`, status: 200, actorName: 'test maintenance' });
    expect(Date.parse(String(items[3]!.at))).toBeGreaterThan(Date.now() - 60_000);
  });

  it('records rule changes, tokens and accounts created, and filters by actor, action and time', async () => {
    const from = new Date().toISOString();
    const token = await h.call('admin', { method: 'POST', url: '/api/tokens', payload: { name: 'scada', role: 'viewer' } });
    expect(token.statusCode).toBe(201);
    const acc = await h.call('admin', { method: 'POST', url: '/api/accounts', payload: { login: 'li.na', displayName: '李娜', grants: [{ role: 'viewer', sites: '*' }] } });
    expect(acc.statusCode).toBe(201);
    const admin = (await h.db.state.listTokens()).find((t) => t.role === 'admin')!.id;
    await vi.waitFor(async () => expect((await audit(`?actor=${admin}`)).total).toBe(2));
    const mine = await audit(`?actor=${admin}&from=${encodeURIComponent(from)}`);
    expect(mine.items.map((e) => e.action)).toEqual(['account.create', 'token.create']);
    expect((await audit('?action=account.create')).items).toMatchObject([{ target: 'li.na', path: '/api/accounts', method: 'POST', status: 201 }]);
    const tokenEntry = (await audit('?action=token.create')).items[0]!;
    // A created token's secret is in the same answer; the trail keeps only its id.
    expect(JSON.stringify(await audit())).not.toContain(token.json<{ token: string }>().token);
    expect(tokenEntry.target).toBe((await h.db.state.listTokens()).find((t) => t.name === 'scada')!.id);
    expect((await audit('?action=alarm.')).total).toBe(4);
    expect((await audit(`?to=${encodeURIComponent(from)}`)).total).toBe(4);
    expect((await audit('?action=alarm.&limit=1&offset=1')).items).toMatchObject([{ action: 'alarm.comment' }]);
  });

  it('exports CSV with a BOM, formula-safe cells and the Chinese names intact', async () => {
    const res = await h.call('admin', { method: 'GET', url: '/api/audit?format=csv&action=alarm.' });
    expect(res.statusCode).toBe(200);
    expect(res.headers['content-type']).toContain('text/csv');
    expect(res.headers['content-disposition']).toMatch(/attachment; filename="anju-audit-\d{4}-\d{2}-\d{2}\.csv"/);
    const lines = res.body.replace(/^\uFEFF/, '').trimEnd().split('\r\n');
    expect(lines[0]).toBe('at,actor,actor_name,role,action,target,ip,method,path,status');
    expect(lines).toHaveLength(5);
    expect(lines[4]).toContain(`,t-maintenance,test maintenance,maintenance,alarm.ack,${alarm},10.1.2.3,POST,/api/alerts/${alarm}/ack,200`);
  });

  it('counts and logs an entry it cannot write, and the answer stands', async () => {
    const failures = async () => (await h.deps.metrics.getSingleMetricAsString('anju_audit_write_failures_total')).match(/ (\d+)$/m)?.[1];
    expect(await failures()).toBe('0');
    const record = h.db.audit.record;
    h.db.audit.record = () => Promise.reject(new Error('disk full'));
    try {
      const res = await h.call('admin', { method: 'POST', url: '/api/tokens', payload: { name: 'lost-audit', role: 'viewer' } });
      expect(res.statusCode).toBe(201);
      await vi.waitFor(async () => expect(await failures()).toBe('1'));
    } finally {
      h.db.audit.record = record;
    }
  });

  it('is described in the OpenAPI document under its tag', async () => {
    const spec = (await h.app.inject({ method: 'GET', url: '/docs/json' })).json();
    expect(spec.paths['/api/audit'].get.tags).toEqual(['audit']);
    expect(spec.tags.map((t: { name: string }) => t.name)).toEqual(expect.arrayContaining(['accounts', 'audit']));
  });

  it('is admin only and refuses bad filters with coded 400s', async () => {
    for (const role of ['operator', 'maintenance', 'viewer'] as const) expect((await h.call(role, { method: 'GET', url: '/api/audit' })).statusCode).toBe(403);
    expect((await h.call(null, { method: 'GET', url: '/api/audit' })).statusCode).toBe(401);
    for (const q of ['?from=yesterday', '?from=2026-01-02T00:00:00Z&to=2026-01-01T00:00:00Z', '?action=DROP%20TABLE', '?format=xml', '?limit=0']) {
      const res = await h.call('admin', { method: 'GET', url: `/api/audit${q}` });
      expect(res.statusCode, q).toBe(400);
      expect(res.json().error.code).toBeTypeOf('string');
    }
  });

  it('records log-ins: a refused one under the name as typed (never the password), a successful one as the person', async () => {
    const created = await h.call('admin', { method: 'POST', url: '/api/accounts', payload: { login: 'zhou.yi', displayName: '周毅', grants: [{ role: 'viewer', sites: '*' }], password: 'correct horse' } });
    expect(created.statusCode, created.body).toBe(201);
    const login = (password: string) => h.app.inject({ method: 'POST', url: '/api/session/login', payload: { login: 'zhou.yi', password }, remoteAddress: '10.7.7.7' });
    expect((await login('wrong guess')).statusCode).toBe(401);
    // A body that fails validation is no log-in attempt the trail keeps (its "login" could be anything, of any length).
    expect((await h.app.inject({ method: 'POST', url: '/api/session/login', payload: { login: 'x'.repeat(5_000), password: 'p' } })).statusCode).toBe(400);
    expect((await login('correct horse')).statusCode).toBe(200);
    await vi.waitFor(async () => expect((await audit('?action=session.')).total).toBe(2));
    const [ok, refused] = (await audit('?action=session.')).items;
    expect(refused).toMatchObject({ action: 'session.login_failed', actor: 'login:zhou.yi', ip: '10.7.7.7', status: 401 });
    expect(ok).toMatchObject({ action: 'session.login', actor: `account:${created.json().id}`, actorName: 'zhou.yi', role: 'viewer', status: 200 });
    expect(JSON.stringify(await audit('?action=session.'))).not.toMatch(/wrong guess|correct horse/);
  });
});
