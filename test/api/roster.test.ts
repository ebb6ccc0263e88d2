import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Incidents } from '../../alerts/incidents/manager.js';
import type { AlertEngine } from '../../alerts/index.js';
import { hashPassword } from '../../core/secrets.js';
import { feed, startAlertsHarness, T0, type Harness } from './harness.js';

/**
 * `/api/sites/{id}/roster` and `/on-duty`, assigning a person by account id, and "my incidents",
 * on the real DuckDB stores with a real engine and incidents.
 */

const shanghai = (local: string) => Date.parse(`${local}:00+08:00`);
const person = (id: string, displayName: string, sites: '*' | string[] = ['chundu']) => ({
  id, login: id, displayName, grants: [{ role: 'maintenance' as const, sites }], disabled: false, createdAt: T0, updatedAt: T0,
});
const roster = {
  shifts: [
    { days: [1, 2, 3, 4, 5], start: '08:00', end: '18:00', people: ['li.na'] },
    { days: [7], start: '18:00', end: '08:00', people: ['wang.fang', 'li.na'] },
    { days: [1, 2, 3, 4, 5, 6, 7], start: '00:00', end: '00:00', hazards: ['water'], buildings: ['b3'], people: ['sun.li'] },
  ],
  managers: ['zhou.min'],
};

describe('api rosters and people', () => {
  const now = { ms: T0 };
  let h: Harness;
  let engine: AlertEngine;
  let incidents: Incidents;

  beforeAll(async () => {
    ({ h, engine, incidents } = await startAlertsHarness(now, {}, (d) => d, (db, deps) => ({ ...deps, accounts: db.accounts, rosters: db.rosters })));
    await h.deps.state.upsertSite({ id: 'chundu', name: '春都社区', timezone: 'Asia/Shanghai' });
    await h.deps.state.upsertSite({ id: 'lakeside', name: '湖畔', timezone: 'Asia/Shanghai' });
    for (const [id, name] of [['li.na', '李娜'], ['wang.fang', '王芳'], ['sun.li', '孙丽'], ['zhou.min', '周敏']] as const) await h.db.accounts.create(person(id, name));
    await h.db.accounts.create({ ...person('far.away', '远方', ['lakeside']), passwordHash: await hashPassword('correct horse') });
    // A role over all sites: the control room's log-in asks for one until it limits itself to a person's sites.
    await h.db.accounts.create({ ...person('li.na.2', '李娜（二）', '*'), login: 'lina2', passwordHash: await hashPassword('correct horse') });
  });
  afterAll(async () => {
    await h?.close();
  });

  it('answers 404 for an unknown site and no_roster for a site without one; refuses writes below operator', async () => {
    const unknown = await h.call('viewer', { method: 'GET', url: '/api/sites/nowhere/roster' });
    expect([unknown.statusCode, unknown.json().error.code]).toEqual([404, 'not_found']);
    const none = await h.call('viewer', { method: 'GET', url: '/api/sites/chundu/roster' });
    expect([none.statusCode, none.json().error.code]).toEqual([404, 'no_roster']);
    const put = await h.call('maintenance', { method: 'PUT', url: '/api/sites/chundu/roster', payload: roster });
    expect(put.statusCode).toBe(403);
    expect((await h.call('operator', { method: 'PUT', url: '/api/sites/nowhere/roster', payload: roster })).statusCode).toBe(404);
  });

  it('stores a roster (operator), the site’s zone by default, readable by any role, every version kept', async () => {
    const put = await h.call('operator', { method: 'PUT', url: '/api/sites/chundu/roster', payload: roster });
    expect(put.statusCode).toBe(200);
    expect(put.json()).toMatchObject({ site: 'chundu', version: 1, updatedBy: 'test operator', roster: { site: 'chundu', timezone: 'Asia/Shanghai', managers: ['zhou.min'] } });
    const got = await h.call('viewer', { method: 'GET', url: '/api/sites/chundu/roster' });
    expect(got.json()).toEqual(put.json());
    const second = await h.call('admin', { method: 'PUT', url: '/api/sites/chundu/roster', payload: { ...roster, site: 'chundu', ackWithinMinutes: 10 } });
    expect(second.json()).toMatchObject({ version: 2, roster: { ackWithinMinutes: 10 } });
    const history = await h.call('viewer', { method: 'GET', url: '/api/sites/chundu/roster/history' });
    expect(history.json().items.map((v: { version: number }) => v.version)).toEqual([2, 1]);
  });

  it('refuses a roster naming people who cannot serve the site (422, one detail each) and a malformed one (400), keeping the stored one', async () => {
    const strangers = await h.call('operator', {
      method: 'PUT', url: '/api/sites/chundu/roster', payload: { ...roster, managers: ['zhou.min', 'ghost', 'far.away'] },
    });
    expect(strangers.statusCode).toBe(422);
    expect(strangers.json().error).toMatchObject({
      code: 'unknown_people',
      // One answer whether the account does not exist or serves another site: no enumeration oracle.
      details: [
        { in: 'body', path: 'managers.1', message: 'ghost: no enabled account with a role at site chundu has this id' },
        { path: 'managers.2', message: 'far.away: no enabled account with a role at site chundu has this id' },
      ],
    });
    for (const payload of [
      { ...roster, shifts: [{ days: [8], start: '08:00', end: '18:00', people: ['li.na'] }] },
      { ...roster, shifts: [{ days: [1], start: '25:00', end: '18:00', people: ['li.na'] }] },
      { ...roster, timezone: 'Mars/Olympus' },
      { ...roster, site: 'lakeside' },
      { ...roster, extra: true },
    ]) {
      const res = await h.call('operator', { method: 'PUT', url: '/api/sites/chundu/roster', payload });
      expect(res.statusCode, JSON.stringify(payload)).toBe(400);
      expect(res.json().error.code).toBe('validation_failed');
    }
    expect((await h.call('viewer', { method: 'GET', url: '/api/sites/chundu/roster' })).json().version).toBe(2);
  });

  it('answers who is on duty with display names, across the week boundary and for a building’s steward', async () => {
    const sunday = await h.call('viewer', { method: 'GET', url: `/api/sites/chundu/on-duty?hazard=fire&building=b1&at=${shanghai('2025-03-09T23:30')}` });
    expect(sunday.json()).toEqual({
      site: 'chundu', hazard: 'fire', building: 'b1', at: '2025-03-09T15:30:00.000Z', timezone: 'Asia/Shanghai', source: 'pattern',
      chain: [{ id: 'wang.fang', displayName: '王芳', manager: false }, { id: 'li.na', displayName: '李娜', manager: false }, { id: 'zhou.min', displayName: '周敏', manager: true }],
    });
    // Monday 07:59 in Shanghai is still Sunday's night shift; at 08:00 Monday's day shift.
    const early = await h.call('viewer', { method: 'GET', url: '/api/sites/chundu/on-duty?hazard=fire&at=2025-03-09T23:59:00Z' });
    expect(early.json().chain.map((c: { id: string }) => c.id)).toEqual(['wang.fang', 'li.na', 'zhou.min']);
    const day = await h.call('viewer', { method: 'GET', url: '/api/sites/chundu/on-duty?hazard=fire&at=2025-03-10T00:00:00Z' });
    expect(day.json().chain.map((c: { id: string }) => c.id)).toEqual(['li.na', 'zhou.min']);
    const water = await h.call('viewer', { method: 'GET', url: `/api/sites/chundu/on-duty?hazard=water&building=b3&at=${shanghai('2025-03-10T12:00')}` });
    // Building 3's steward before the day shift (which covers every hazard), then the manager.
    expect(water.json().chain.map((c: { id: string }) => c.id)).toEqual(['sun.li', 'li.na', 'zhou.min']);
    const bad = await h.call('viewer', { method: 'GET', url: '/api/sites/chundu/on-duty?hazard=earthquake' });
    expect([bad.statusCode, bad.json().error.code]).toEqual([400, 'validation_failed']);
    expect((await h.call('viewer', { method: 'GET', url: '/api/sites/lakeside/on-duty?hazard=fire' })).json().error.code).toBe('no_roster');
  });

  it('assigns an incident to a person by account id, checked against its site; free text as before; "my incidents" for a person', async () => {
    const sd = (await h.deps.directory.create({ id: 'sd-1', kind: 'smoke_detector', site: 'chundu', building: 'b1', name: '1-101 厨房烟感' })).device;
    const bin = (await h.deps.directory.create({ id: 'bin-1', kind: 'smart_bin', site: 'chundu', building: 'b2', category: 'kitchen', name: '垃圾站' })).device;
    await feed(engine, sd, T0, { smoke: 0.6, alarm: true });
    await feed(engine, bin, T0, { fill: 95 });
    await engine.idle();
    await incidents.idle();
    const [fire, waste] = ['fire', 'waste'].map((hz) => incidents.active().find((i) => i.hazard === hz)?.id as string);
    const assign = (id: string, payload: object) => h.call('operator', { method: 'POST', url: `/api/incidents/${id}/assign`, payload });

    const ok = await assign(fire as string, { accountId: 'li.na.2' });
    expect(ok.statusCode).toBe(200);
    expect(ok.json().assignee).toBe('li.na.2');
    const ghost = await assign(fire as string, { accountId: 'ghost' });
    const elsewhere = await assign(fire as string, { accountId: 'far.away' });
    // The same answer, word for word, for an account that does not exist and one serving another site.
    expect([ghost.statusCode, ghost.json().error.code]).toEqual([422, 'not_at_site']);
    expect([elsewhere.statusCode, elsewhere.json().error.code, elsewhere.json().error.message.replace('far.away', 'ghost')])
      .toEqual([422, 'not_at_site', ghost.json().error.message]);
    expect((await assign(fire as string, { accountId: 'li.na', assignee: '李娜' })).statusCode).toBe(400);
    expect((await assign(fire as string, {})).statusCode).toBe(400);
    expect((await assign('no-such-incident', { accountId: 'li.na' })).statusCode).toBe(404);
    expect((await assign(waste as string, { assignee: '外包清运队' })).json().assignee).toBe('外包清运队');
    expect((await incidents.get(fire as string))?.assignee).toBe('li.na.2');

    const login = await h.app.inject({ method: 'POST', url: '/api/session/login', payload: { login: 'lina2', password: 'correct horse' } });
    expect(login.statusCode).toBe(200);
    const cookie = `anju_session=${/anju_session=([^;]*)/.exec(String(login.headers['set-cookie']))?.[1]}`;
    const mine = await h.app.inject({ method: 'GET', url: '/api/incidents?assignee=me', headers: { cookie } });
    expect(mine.json()).toMatchObject({ total: 1, items: [{ id: fire, assignee: 'li.na.2' }] });
    const theirs = await h.call('viewer', { method: 'GET', url: `/api/incidents?assignee=${encodeURIComponent('外包清运队')}` });
    expect(theirs.json().items.map((i: { id: string }) => i.id)).toEqual([waste]);
    const token = await h.call('viewer', { method: 'GET', url: '/api/incidents?assignee=me' });
    expect([token.statusCode, token.json().error.code]).toEqual([422, 'no_account']);
  });

  it('lists the people of a site (any role): enabled, with their role there, by display name, paged; no contacts for anyone', async () => {
    await h.db.accounts.create({ ...person('zhao.lei', '赵磊'), phone: '+86 138 0000 0009', wecomUserId: 'ZhaoLei', disabled: true });
    await h.db.accounts.create({ ...person('qian.yu', '钱宇'), phone: '+86 138 0000 0010', grants: [{ role: 'operator', sites: ['chundu'] }, { role: 'viewer', sites: '*' }] });
    const all = await h.call('viewer', { method: 'GET', url: '/api/sites/chundu/people' });
    expect(all.statusCode).toBe(200);
    // Pinyin order: 李娜, 李娜（二）, 钱宇, 孙丽, 王芳, 周敏; the disabled 赵磊 and 湖畔's 远方 are not there.
    expect(all.json()).toEqual({
      total: 6,
      items: [
        { id: 'li.na', displayName: '李娜', role: 'maintenance' }, { id: 'li.na.2', displayName: '李娜（二）', role: 'maintenance' },
        { id: 'qian.yu', displayName: '钱宇', role: 'operator' }, { id: 'sun.li', displayName: '孙丽', role: 'maintenance' },
        { id: 'wang.fang', displayName: '王芳', role: 'maintenance' }, { id: 'zhou.min', displayName: '周敏', role: 'maintenance' },
      ],
    });
    // The role is the one held at the site asked about: 钱宇 is operator at 春都, viewer at 湖畔.
    const lakeside = (await h.call('admin', { method: 'GET', url: '/api/sites/lakeside/people' })).json();
    expect(lakeside.items).toEqual([
      { id: 'li.na.2', displayName: '李娜（二）', role: 'maintenance' }, { id: 'qian.yu', displayName: '钱宇', role: 'viewer' }, { id: 'far.away', displayName: '远方', role: 'maintenance' },
    ].sort((a, b) => new Intl.Collator('zh-CN').compare(a.displayName, b.displayName)));
    expect(JSON.stringify(lakeside)).not.toMatch(/phone|wecom|login|password/i);
    const operators = await h.call('viewer', { method: 'GET', url: '/api/sites/chundu/people?role=operator' });
    expect(operators.json()).toEqual({ total: 1, items: [{ id: 'qian.yu', displayName: '钱宇', role: 'operator' }] });
    const page = await h.call('viewer', { method: 'GET', url: '/api/sites/chundu/people?limit=2&offset=2' });
    expect(page.json()).toMatchObject({ total: 6, items: [{ id: 'qian.yu' }, { id: 'sun.li' }] });
    for (const q of ['role=boss', 'limit=0', 'offset=-1']) {
      const bad = await h.call('viewer', { method: 'GET', url: `/api/sites/chundu/people?${q}` });
      expect([bad.statusCode, bad.json().error.code], q).toEqual([400, 'validation_failed']);
    }
    const unknown = await h.call('viewer', { method: 'GET', url: '/api/sites/nowhere/people' });
    expect([unknown.statusCode, unknown.json().error.code]).toEqual([404, 'not_found']);
    expect((await h.call(null, { method: 'GET', url: '/api/sites/chundu/people' })).statusCode).toBe(401);
  });

  it('documents the routes in the OpenAPI spec', async () => {
    const doc = (await h.call(null, { method: 'GET', url: '/docs/json' })).json();
    expect(Object.keys(doc.paths['/api/sites/{id}/roster'])).toEqual(expect.arrayContaining(['get', 'put']));
    expect(doc.paths['/api/sites/{id}/people'].get.parameters.map((p: { name: string }) => p.name)).toEqual(expect.arrayContaining(['id', 'role', 'limit', 'offset']));
    expect(Object.keys(doc.components.schemas.SitePerson.properties)).toEqual(['id', 'displayName', 'role']);
    expect(doc.paths['/api/sites/{id}/on-duty'].get.parameters.map((p: { name: string }) => p.name)).toEqual(expect.arrayContaining(['hazard', 'building', 'at']));
    expect(doc.paths['/api/incidents/{id}/assign'].post.requestBody.content['application/json'].schema.properties).toHaveProperty('accountId');
    expect(doc.paths['/api/incidents'].get.parameters.map((p: { name: string }) => p.name)).toContain('assignee');
  });
});
