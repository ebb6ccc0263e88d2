import { pino } from 'pino';
import { createLogSink } from '../helpers/log-sink.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ingestAccountRights } from '../../core/index.js';
import { verifySecret } from '../../core/secrets.js';
import { createServiceAccountDirectory, type ServiceAccountDirectory } from '../../storage/index.js';
import { startHarness, type Harness } from './harness.js';

/** What the API logs (and what it must not). */
const { lines: logLines, stream: logSink } = createLogSink();

describe('/api/service-accounts', () => {
  let h: Harness;
  let accounts: ServiceAccountDirectory;
  beforeAll(async () => {
    h = await startHarness({}, (deps) => ({ ...deps, logger: pino({ level: 'info' }, logSink) }), async (db, deps) => {
      accounts = createServiceAccountDirectory({ store: db.serviceAccounts, isTaken: (id) => deps.directory.get(id) !== undefined });
      await accounts.load();
      await accounts.syncFromEnvironment([{ id: 'anju-ingest', password: 'from-env', rights: ingestAccountRights }]);
      return { deps: { ...deps, serviceAccounts: accounts } };
    });
  });
  afterAll(async () => {
    await h.close();
  });

  const body = { id: 'bms-gw', publish: ['devices/+/commands/#'], subscribe: ['devices/+/telemetry', 'anju/alerts/#'], deny: ['devices/+/commands/reboot'] };

  it('creates an account (admin), answering its secret once and storing only a scrypt hash', async () => {
    const res = await h.call('admin', { method: 'POST', url: '/api/service-accounts', payload: body });
    expect(res.statusCode).toBe(201);
    const created = res.json();
    expect(created).toMatchObject({ ...body, origin: 'api' });
    expect(created.secret).toMatch(/^[A-Za-z0-9_-]{32}$/);
    expect(await verifySecret(created.secret, accounts.get('bms-gw')?.secretHash ?? '')).toBe(true);
    const list = await h.call('admin', { method: 'GET', url: '/api/service-accounts' });
    expect(list.json().total).toBe(2);
    expect(JSON.stringify(list.json())).not.toContain(created.secret);
    expect(list.json().items.map((a: { id: string }) => a.id)).toEqual(['anju-ingest', 'bms-gw']);
    const one = await h.call('admin', { method: 'GET', url: '/api/service-accounts/bms-gw' });
    expect(one.json()).not.toHaveProperty('secret');
    // Audited, without the secret.
    const audit = logLines.find((l) => l.audit === 'service_account.created');
    expect(audit).toMatchObject({ serviceAccount: 'bms-gw', deny: ['devices/+/commands/reboot'], by: expect.any(String) });
    expect(JSON.stringify(logLines)).not.toContain(created.secret);
  });

  it('is admin only, for reading too', async () => {
    for (const role of ['operator', 'maintenance', 'viewer'] as const) {
      expect((await h.call(role, { method: 'GET', url: '/api/service-accounts' })).statusCode).toBe(403);
      expect((await h.call(role, { method: 'POST', url: '/api/service-accounts', payload: { ...body, id: `x-${role}` } })).statusCode).toBe(403);
    }
    expect((await h.call(null, { method: 'GET', url: '/api/service-accounts' })).statusCode).toBe(401);
  });

  it('validates ids and topic filters, and refuses an id taken by an account or a device (409)', async () => {
    const bad = [
      { ...body, id: 'bad id' },
      { ...body, id: 'x1', publish: ['devices/#/x'] },
      { ...body, id: 'x2', subscribe: ['devices/a+/telemetry'] },
      { ...body, id: 'x3', deny: [''] },
      { ...body, id: 'x4', extra: true },
    ];
    for (const payload of bad) {
      const res = await h.call('admin', { method: 'POST', url: '/api/service-accounts', payload });
      expect(res.statusCode, JSON.stringify(payload)).toBe(400);
      expect(res.json().error.code).toBe('validation_failed');
    }
    expect((await h.call('admin', { method: 'POST', url: '/api/service-accounts', payload: body })).statusCode).toBe(409);
    await h.call('admin', { method: 'POST', url: '/api/devices', payload: { id: 'sd-77', kind: 'smoke_detector', site: 's', building: 'b' } });
    const clash = await h.call('admin', { method: 'POST', url: '/api/service-accounts', payload: { ...body, id: 'sd-77' } });
    expect(clash.statusCode).toBe(409);
    expect(clash.json().error.message).toMatch(/device id/);
  });

  it('rotates a secret: the new one is answered once, the old one stops working', async () => {
    const before = accounts.get('bms-gw')?.secretHash ?? '';
    const res = await h.call('admin', { method: 'POST', url: '/api/service-accounts/bms-gw/secret' });
    expect(res.statusCode).toBe(200);
    const { secret } = res.json();
    expect(await verifySecret(secret, accounts.get('bms-gw')?.secretHash ?? '')).toBe(true);
    expect(accounts.get('bms-gw')?.secretHash).not.toBe(before);
    expect(logLines.some((l) => l.audit === 'service_account.secret_rotated' && l.serviceAccount === 'bms-gw')).toBe(true);
    expect((await h.call('admin', { method: 'POST', url: '/api/service-accounts/ghost/secret' })).statusCode).toBe(404);
  });

  it('leaves the environment’s ingest account to the environment (409), deletes the others', async () => {
    const env = await h.call('admin', { method: 'DELETE', url: '/api/service-accounts/anju-ingest' });
    expect(env.statusCode).toBe(409);
    expect(env.json().error.message).toMatch(/ANJU_INGEST_USER/);
    expect((await h.call('admin', { method: 'POST', url: '/api/service-accounts/anju-ingest/secret' })).statusCode).toBe(409);
    expect((await h.call('admin', { method: 'DELETE', url: '/api/service-accounts/bms-gw' })).statusCode).toBe(204);
    expect((await h.call('admin', { method: 'DELETE', url: '/api/service-accounts/bms-gw' })).statusCode).toBe(404);
    expect(logLines.some((l) => l.audit === 'service_account.deleted' && l.serviceAccount === 'bms-gw')).toBe(true);
  });

  it('refuses a device whose id is a service account (the MQTT username names one principal)', async () => {
    const res = await h.call('admin', { method: 'POST', url: '/api/devices', payload: { id: 'anju-ingest', kind: 'smoke_detector', site: 's', building: 'b' } });
    expect(res.statusCode).toBe(409);
    // The same words as for a taken device id: whose the id is (and at which site) is not said.
    expect(res.json().error.message).toBe('id anju-ingest is taken (device and service account ids are unique across the deployment, being MQTT usernames): choose another');
  });

  it('is described in the OpenAPI document', async () => {
    const spec = (await h.call('viewer', { method: 'GET', url: '/docs/json' })).json();
    expect(Object.keys(spec.paths)).toEqual(expect.arrayContaining(['/api/service-accounts', '/api/service-accounts/{id}', '/api/service-accounts/{id}/secret']));
    expect(spec.paths['/api/service-accounts'].post.responses['201']).toBeDefined();
    expect(spec.tags.map((t: { name: string }) => t.name)).toContain('service-accounts');
  });
});
