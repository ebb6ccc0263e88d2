import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startHarness, type Harness } from './harness.js';

describe('api devices, sites and buildings', () => {
  let h: Harness;
  beforeAll(async () => {
    h = await startHarness();
    await h.db.state.upsertSite({ id: 'chundu', name: '春都社区', timezone: 'Asia/Shanghai' });
    await h.db.state.upsertBuilding({ id: 'b1', site: 'chundu', name: '1号楼', floors: 6 });
  });
  afterAll(async () => {
    await h.close();
  });

  const post = (payload: unknown) => h.call('admin', { method: 'POST', url: '/api/devices', payload: payload as object });

  it('provisions a device: the secret is answered once and never again', async () => {
    const res = await post({ id: 'chundu-b1-sd-u1', kind: 'smoke_detector', site: 'chundu', building: 'b1', name: '1号楼烟感', location: 'unit 1 stairwell 3F' });
    expect(res.statusCode).toBe(201);
    const body = res.json();
    expect(body).toMatchObject({ id: 'chundu-b1-sd-u1', kind: 'smoke_detector', site: 'chundu', building: 'b1', name: '1号楼烟感' });
    expect(body.secret).toEqual(expect.any(String));
    expect(body.secret.length).toBeGreaterThanOrEqual(32);
    expect(new Date(body.createdAt).toISOString()).toBe(body.createdAt);
    expect(await h.deps.directory.verify('chundu-b1-sd-u1', body.secret)).toBe(true);

    const one = await h.call('viewer', { method: 'GET', url: '/api/devices/chundu-b1-sd-u1' });
    expect(one.statusCode).toBe(200);
    expect(one.json().secret).toBeUndefined();
    expect(one.body).not.toContain(body.secret);
    const list = await h.call('viewer', { method: 'GET', url: '/api/devices' });
    expect(list.json()).toMatchObject({ total: 1, items: [{ id: 'chundu-b1-sd-u1' }] });
    expect(list.body).not.toContain(body.secret);
  });

  it('answers 409 for a duplicate id', async () => {
    const res = await post({ id: 'chundu-b1-sd-u1', kind: 'smoke_detector', site: 'chundu', building: 'b1' });
    expect(res.statusCode).toBe(409);
    expect(res.json().error).toMatchObject({ code: 'conflict' });
  });

  it.each([
    ['an unknown kind', { id: 'x1', kind: 'toaster', site: 'chundu', building: 'b1' }, 'kind'],
    ['a bin without category', { id: 'bin1', kind: 'smart_bin', site: 'chundu', building: 'b1' }, 'category'],
    ['rated_current on a smoke detector', { id: 'sd9', kind: 'smoke_detector', site: 'chundu', building: 'b1', rated_current: 16 }, 'rated_current'],
    ['an id with a slash', { id: 'a/b', kind: 'smoke_detector', site: 'chundu', building: 'b1' }, 'id'],
    ['an id with a hash', { id: 'a#b', kind: 'smoke_detector', site: 'chundu', building: 'b1' }, 'id'],
    ['an unknown key', { id: 'sd10', kind: 'smoke_detector', site: 'chundu', building: 'b1', colour: 'red' }, 'colour'],
    ['a missing site', { id: 'sd11', kind: 'smoke_detector', building: 'b1' }, 'site'],
  ])('refuses %s with 400 validation_failed and details', async (_what, payload, path) => {
    const res = await post(payload);
    expect(res.statusCode).toBe(400);
    const { error } = res.json();
    expect(error.code).toBe('validation_failed');
    expect(error.message).toEqual(expect.any(String));
    expect(error.details).toEqual(expect.arrayContaining([expect.objectContaining({ in: 'body', path, message: expect.any(String) })]));
  });

  it('refuses a malformed id in the URL', async () => {
    for (const url of ['/api/devices/a%2Fb', '/api/devices/a%23b', '/api/devices/-x']) {
      const res = await h.call('viewer', { method: 'GET', url });
      expect(res.statusCode, url).toBe(400);
      expect(res.json().error.details[0]).toMatchObject({ in: 'params', path: 'id' });
    }
  });

  it('registers an unknown site and building named after their ids', async () => {
    const res = await post({ id: 'bin-r', kind: 'smart_bin', site: 'newsite', building: 'nb1', category: 'residual' });
    expect(res.statusCode).toBe(201);
    expect(res.json().category).toBe('residual');
    const sites = await h.call('viewer', { method: 'GET', url: '/api/sites' });
    expect(sites.json().items.map((s: { id: string }) => s.id).sort()).toEqual(['chundu', 'newsite']);
  });

  it('lists sites and buildings, 404 for an unknown site', async () => {
    const sites = await h.call('viewer', { method: 'GET', url: '/api/sites?limit=1' });
    expect(sites.statusCode).toBe(200);
    expect(sites.json()).toMatchObject({ total: 2, items: [{ id: 'chundu', name: '春都社区', timezone: 'Asia/Shanghai' }] });
    const b = await h.call('viewer', { method: 'GET', url: '/api/sites/chundu/buildings' });
    expect(b.json()).toEqual({ total: 1, items: [{ id: 'b1', site: 'chundu', name: '1号楼', floors: 6 }] });
    const none = await h.call('viewer', { method: 'GET', url: '/api/sites/nowhere/buildings' });
    expect(none.statusCode).toBe(404);
    expect(none.json().error.code).toBe('not_found');
    expect((await h.call('viewer', { method: 'GET', url: '/api/sites?limit=100000' })).statusCode).toBe(400);
  });

  it('filters and pages the device list', async () => {
    await post({ id: 'pm-1', kind: 'power_meter', site: 'chundu', building: 'b1', rated_current: 16, purpose: 'common_lighting' });
    await post({ id: 'pm-2', kind: 'power_meter', site: 'chundu', building: 'b1', rated_current: 32 });
    const pm = await h.call('viewer', { method: 'GET', url: '/api/devices?kind=power_meter&limit=1&offset=1' });
    expect(pm.json()).toMatchObject({ total: 2, items: [{ id: 'pm-2' }] });
    const site = await h.call('viewer', { method: 'GET', url: '/api/devices?site=newsite' });
    expect(site.json()).toMatchObject({ total: 1, items: [{ id: 'bin-r' }] });
    expect((await h.call('viewer', { method: 'GET', url: '/api/devices?kind=toaster' })).statusCode).toBe(400);
    expect((await h.call('viewer', { method: 'GET', url: '/api/devices?limit=501' })).statusCode).toBe(400);
  });

  it('patches a device, re-checking kind attributes against the merged device', async () => {
    const ok = await h.call('admin', { method: 'PATCH', url: '/api/devices/pm-1', payload: { rated_current: 20, name: '照明' } });
    expect(ok.statusCode).toBe(200);
    expect(ok.json()).toMatchObject({ id: 'pm-1', rated_current: 20, name: '照明', purpose: 'common_lighting' });
    expect(h.deps.directory.get('pm-1')?.rated_current).toBe(20);

    const wrong = await h.call('admin', { method: 'PATCH', url: '/api/devices/chundu-b1-sd-u1', payload: { rated_current: 16 } });
    expect(wrong.statusCode).toBe(400);
    expect(wrong.json().error).toMatchObject({ code: 'validation_failed', details: [{ in: 'body', path: 'rated_current' }] });
    const kind = await h.call('admin', { method: 'PATCH', url: '/api/devices/pm-1', payload: { kind: 'water_meter' } });
    expect(kind.statusCode).toBe(400);
    const missing = await h.call('admin', { method: 'PATCH', url: '/api/devices/nope', payload: { name: 'x' } });
    expect(missing.statusCode).toBe(404);
    expect((await h.call('operator', { method: 'PATCH', url: '/api/devices/pm-1', payload: { name: 'x' } })).statusCode).toBe(403);
  });

  it('rotates a secret: the new one works, the old one does not', async () => {
    const created = await post({ id: 'wm-1', kind: 'water_meter', site: 'chundu', building: 'b1', q3: 2.5 });
    const old = created.json().secret as string;
    const res = await h.call('admin', { method: 'POST', url: '/api/devices/wm-1/secret' });
    expect(res.statusCode).toBe(200);
    const { secret } = res.json();
    expect(secret).not.toBe(old);
    expect(await h.deps.directory.verify('wm-1', secret)).toBe(true);
    expect(await h.deps.directory.verify('wm-1', old)).toBe(false);
    expect((await h.call('admin', { method: 'POST', url: '/api/devices/nope/secret' })).statusCode).toBe(404);
  });

  it('deletes a device and forgets its latest reading', async () => {
    h.deps.latest.accept([{ device: 'wm-1', kind: 'water_meter', site: 'chundu', building: 'b1', ts: Date.now(), fields: { volume: 1 } }]);
    expect(h.deps.latest.get('wm-1')).toBeDefined();
    const res = await h.call('admin', { method: 'DELETE', url: '/api/devices/wm-1' });
    expect(res.statusCode).toBe(204);
    expect(res.body).toBe('');
    expect(h.deps.latest.get('wm-1')).toBeUndefined();
    expect((await h.call('viewer', { method: 'GET', url: '/api/devices/wm-1' })).statusCode).toBe(404);
    expect((await h.call('admin', { method: 'DELETE', url: '/api/devices/wm-1' })).statusCode).toBe(404);
  });
});
