import { pino } from 'pino';
import { createLogSink } from '../helpers/log-sink.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startHarness, type Harness } from './harness.js';

/** What the API logs (and what it must not). */
const { lines: logLines, stream: logSink } = createLogSink();

describe('api system: rejects, metrics, OpenAPI, errors', () => {
  let h: Harness;
  beforeAll(async () => {
    // A state store whose listSites fails the way a bug would: the 500 must not leak it.
    // No web bundle (a directory that does not exist): the root's answer does not depend on a build.
    h = await startHarness({ webRoot: '/nonexistent/anju-web' }, (deps) => ({
      ...deps,
      logger: pino({ level: 'debug' }, logSink),
      state: new Proxy(deps.state, {
        get(target, prop, receiver) {
          if (prop === 'listSites') {
            return async () => {
              throw new Error('SECRET-INTERNAL-DETAIL at /srv/anju/state.ts:42');
            };
          }
          return Reflect.get(target, prop, receiver) as unknown;
        },
      }),
    }));
    const base = Date.UTC(2025, 0, 1);
    const sample = { topic: 'devices/x/telemetry', source: 'in-process', detail: 'bad', size: 3, sample: '{{{' };
    h.deps.rejects.record({ ...sample, at: base, reason: 'malformed_json', device: 'x' });
    h.deps.rejects.record({ ...sample, at: base + 1, reason: 'unknown_device', device: 'y' });
    h.deps.rejects.record({ ...sample, at: base + 2, reason: 'malformed_json', device: 'y' });
  });
  afterAll(async () => {
    await h.close();
  });

  it('lists ingest rejects newest first, with ISO times and totals by reason', async () => {
    const res = await h.call('viewer', { method: 'GET', url: '/api/ingest/rejects' });
    expect(res.statusCode).toBe(200);
    const body = res.json();
    expect(body.total).toBe(3);
    expect(body.items[0]).toMatchObject({ at: '2025-01-01T00:00:00.002Z', reason: 'malformed_json', device: 'y', sample: '{{{' });
    expect(body.counts).toMatchObject({ malformed_json: 2, unknown_device: 1, schema_violation: 0 });
    const filtered = await h.call('viewer', { method: 'GET', url: '/api/ingest/rejects?reason=malformed_json&device=y' });
    expect(filtered.json()).toMatchObject({ total: 1, items: [{ at: '2025-01-01T00:00:00.002Z' }] });
    const paged = await h.call('viewer', { method: 'GET', url: '/api/ingest/rejects?limit=1&offset=2' });
    expect(paged.json()).toMatchObject({ total: 3, items: [{ reason: 'malformed_json', device: 'x' }] });
    expect((await h.call('viewer', { method: 'GET', url: '/api/ingest/rejects?reason=nope' })).statusCode).toBe(400);
  });

  it('answers the root without a token, pointing to the build when the control room is not built', async () => {
    const res = await h.call(null, { method: 'GET', url: '/' });
    expect(res.statusCode).toBe(503);
    expect(res.headers['content-type']).toContain('text/html');
    expect(res.headers['content-security-policy']).toContain("default-src 'self'");
  });

  it('serves Prometheus metrics with the HTTP request counter', async () => {
    await h.call('viewer', { method: 'GET', url: '/api/devices' });
    const res = await h.call('viewer', { method: 'GET', url: '/metrics' });
    expect(res.statusCode).toBe(200);
    expect(res.headers['content-type']).toContain('text/plain');
    expect(res.body).toMatch(/anju_http_requests_total\{route="\/api\/devices",method="GET",status="200"\} [1-9]/);
    expect(res.body).toContain('anju_http_request_duration_seconds_bucket');
    expect(res.body).toContain('anju_ingest_rejected_total{reason="malformed_json"} 2');
  });

  it('describes the API in OpenAPI 3, readable without a token like the Swagger UI page; the operations are not', async () => {
    const res = await h.call(null, { method: 'GET', url: '/docs/json' });
    expect(res.statusCode).toBe(200);
    const doc = res.json();
    expect(doc.openapi).toMatch(/^3\./);
    expect(doc.components.securitySchemes.bearer).toMatchObject({ type: 'http', scheme: 'bearer' });
    expect(doc.security).toEqual([{ bearer: [] }]);
    for (const path of ['/api/devices', '/api/devices/{id}', '/api/devices/{id}/latest', '/api/devices/{id}/telemetry', '/api/devices/{id}/secret',
      '/api/sites', '/api/sites/{id}/buildings', '/api/ingest/rejects', '/api/tokens', '/api/tokens/{id}', '/health', '/metrics']) {
      expect(doc.paths[path], path).toBeDefined();
    }
    expect(Object.keys(doc.paths).some((p) => p.startsWith('/docs'))).toBe(false);
    // Only schemas the paths use are listed.
    expect(Object.keys(doc.components.schemas)).toEqual(expect.arrayContaining(['Device', 'ProvisionedDevice', 'Error', 'Series']));
    expect(Object.keys(doc.components.schemas)).not.toContain('SeriesInput');
    const post = doc.paths['/api/devices'].post;
    expect(post.tags).toEqual(['devices']);
    expect(post.summary).toEqual(expect.any(String));
    expect(JSON.stringify(post.requestBody)).toContain('smoke_detector');
    expect(post.responses['201']).toBeDefined();
    expect(doc.paths['/health'].get.security).toEqual([]);
    const telemetryParams = doc.paths['/api/devices/{id}/telemetry'].get.parameters.map((p: { name: string }) => p.name);
    expect(telemetryParams).toEqual(expect.arrayContaining(['id', 'from', 'to', 'every', 'agg', 'fields', 'limit']));

    const ui = await h.app.inject({ method: 'GET', url: '/docs' });
    expect(ui.statusCode).toBe(200);
    expect(ui.headers['content-type']).toContain('text/html');
    const init = await h.app.inject({ method: 'GET', url: '/docs/static/swagger-initializer.js' });
    expect(init.statusCode).toBe(200);
    const yaml = await h.app.inject({ method: 'GET', url: '/docs/yaml' });
    expect(yaml.statusCode).toBe(200);
    expect(yaml.body).toContain('openapi: 3.0.3');
    // The operations it describes still need a token.
    for (const url of ['/api/devices', '/api/sites', '/api/tokens']) expect((await h.call(null, { method: 'GET', url })).statusCode, url).toBe(401);
  });

  it('documents the MQTT contract and carries worked examples on the main operations', async () => {
    const doc = (await h.call(null, { method: 'GET', url: '/docs/json' })).json();
    const text: string = doc.info.description;
    expect(text).toContain('press **Authorize**');
    expect(text).toContain('## MQTT contract');
    expect(text).toContain('`devices/{id}/telemetry`');
    expect(text).toMatch(/\| `power_meter` 电表 \| \*\*`energy` \(kWh\)\*\*, `power` \(W\)/);
    expect(text).toContain('`schema_violation`');
    expect(text).toMatch(/QoS/);
    const post = doc.paths['/api/devices'].post;
    expect(post.requestBody.content['application/json'].example).toMatchObject({ id: 'chundu-b3-sd-301', kind: 'smoke_detector', site: 'chundu', building: 'b3' });
    expect(post.responses['201'].content['application/json'].example.secret).toEqual(expect.any(String));
    expect(doc.paths['/api/devices/{id}/latest'].get.responses['200'].content['application/json'].example.fields).toMatchObject({ smoke: 0.03 });
    expect(doc.paths['/api/devices/{id}/telemetry'].get.responses['200'].content['application/json'].example.items).toHaveLength(2);
    expect(doc.paths['/api/tokens'].post.requestBody.content['application/json'].example).toEqual({ name: 'grafana', role: 'viewer' });
  });

  it('answers 500 internal without the cause, and logs it under the request id', async () => {
    const res = await h.call('viewer', { method: 'GET', url: '/api/sites', headers: { 'x-request-id': 'trace-123' } });
    expect(res.statusCode).toBe(500);
    expect(res.json()).toEqual({ error: { code: 'internal', message: 'internal error', requestId: 'trace-123' } });
    expect(res.headers['x-request-id']).toBe('trace-123');
    expect(res.body).not.toContain('SECRET');
    expect(res.body).not.toContain('.ts');
    const logged = logLines.find((l) => l.reqId === 'trace-123' && l.level === 50);
    expect(logged?.msg).toBe('unhandled error');
    expect(JSON.stringify(logged)).toContain('SECRET-INTERNAL-DETAIL');
  });

  it('never logs a token', async () => {
    await h.call('admin', { method: 'POST', url: '/api/tokens', payload: { name: 'ci', role: 'operator' } });
    const all = JSON.stringify(logLines);
    expect(logLines.length).toBeGreaterThan(10);
    for (const token of Object.values(h.tokens)) expect(all).not.toContain(token);
    expect(all).not.toMatch(/anju_[A-Za-z0-9_-]{20,}/);
  });

  it('gives every request an id, replacing an unsafe one', async () => {
    const res = await h.call('viewer', { method: 'GET', url: '/api/devices', headers: { 'x-request-id': 'bad id\n{"level":60}' } });
    expect(res.headers['x-request-id']).toMatch(/^[0-9a-f-]{36}$/);
  });

  it('answers body and media-type errors in the coded shape', async () => {
    const big = await h.call('admin', {
      method: 'POST', url: '/api/devices', headers: { 'content-type': 'application/json' },
      payload: JSON.stringify({ id: 'x', kind: 'smoke_detector', site: 's', building: 'b', name: 'n'.repeat(70_000) }),
    });
    expect(big.statusCode).toBe(413);
    expect(big.json().error.code).toBe('payload_too_large');
    const xml = await h.call('admin', { method: 'POST', url: '/api/devices', headers: { 'content-type': 'application/xml' }, payload: '<device/>' });
    expect(xml.statusCode).toBe(415);
    expect(xml.json().error.code).toBe('unsupported_media_type');
    const broken = await h.call('admin', { method: 'POST', url: '/api/devices', headers: { 'content-type': 'application/json' }, payload: '{"id":' });
    expect(broken.statusCode).toBe(400);
    expect(broken.json().error.code).toBe('bad_request');
  });

  it('answers unknown routes 404 not_found (to an authenticated caller)', async () => {
    const res = await h.call('viewer', { method: 'GET', url: '/api/nothing' });
    expect(res.statusCode).toBe(404);
    expect(res.json().error.code).toBe('not_found');
  });
});
