import { connect as netConnect } from 'node:net';
import { pino } from 'pino';
import { createLogSink } from '../helpers/log-sink.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { redactUrl } from '../../api/app.js';
import { startAlertsHarness, startHarness, type Harness } from './harness.js';

/** What the API logs (and what it must not). */
const { lines: logLines, stream: logSink } = createLogSink();

/** One raw HTTP/1.1 exchange on a real socket: what Node's parser does before Fastify sees anything. */
function rawHttp(port: number, request: string | Buffer): Promise<{ status: number; headers: string; body: string }> {
  return new Promise((resolve, reject) => {
    const s = netConnect(port, '127.0.0.1');
    let data = '';
    s.on('data', (d: Buffer) => { data += d.toString('latin1'); });
    s.on('error', () => undefined);
    s.on('close', () => {
      const [head = '', body = ''] = data.split('\r\n\r\n');
      const status = Number(/^HTTP\/1\.1 (\d{3})/.exec(head)?.[1] ?? 0);
      if (!status) reject(new Error(`no HTTP answer: ${JSON.stringify(data.slice(0, 200))}`));
      else resolve({ status, headers: head, body });
    });
    s.write(request);
  });
}

describe('HTTP edges answer in the {error:{code,message}} shape', () => {
  let h: Harness;
  let port: number;
  beforeAll(async () => {
    h = await startHarness({}, (deps) => ({ ...deps, logger: pino({ level: 'debug' }, logSink) }));
    await h.app.listen({ host: '127.0.0.1', port: 0 });
    port = (h.app.server.address() as { port: number }).port;
  });
  afterAll(async () => {
    await h.close();
  });

  const get = (path: string, extra = '') => `GET ${path} HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${h.tokens.viewer}\r\nConnection: close\r\n${extra}\r\n`;
  const coded = (body: string) => JSON.parse(body) as { error: { code: string; message: string } };

  it('431 for a request line and headers over 16 KiB (an over-long URL among them)', async () => {
    const res = await rawHttp(port, get(`/api/devices?site=${'s'.repeat(20_000)}`));
    expect(res.status).toBe(431);
    expect(coded(res.body).error).toMatchObject({ code: 'header_too_large' });
    const headers = await rawHttp(port, get('/api/devices', `X-Big: ${'h'.repeat(20_000)}\r\n`));
    expect(headers.status).toBe(431);
    expect(coded(headers.body).error.code).toBe('header_too_large');
  });

  it('414 for a path segment longer than the router takes', async () => {
    const res = await rawHttp(port, get(`/api/devices/${'d'.repeat(300)}`));
    expect(res.status).toBe(414);
    expect(coded(res.body).error.code).toBe('uri_too_long');
  });

  it('400 bad_url for a path that is not valid percent-encoding', async () => {
    const res = await rawHttp(port, get('/api/devices/%E0%A4%A'));
    expect(res.status).toBe(400);
    expect(coded(res.body).error.code).toBe('bad_url');
  });

  it('400 for something that is not HTTP at all', async () => {
    const res = await rawHttp(port, 'HELLO\r\n\r\n');
    expect(res.status).toBe(400);
    expect(coded(res.body).error.code).toBe('bad_request');
  });

  it('bad JSON, a body over the limit and a wrong media type, over a real socket', async () => {
    const post = (body: string, type = 'application/json') =>
      `POST /api/devices HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${h.tokens.admin}\r\nContent-Type: ${type}\r\nContent-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`;
    const broken = await rawHttp(port, post('{"id":'));
    expect(broken.status).toBe(400);
    expect(coded(broken.body).error.code).toBe('bad_request');
    const big = await rawHttp(port, post(JSON.stringify({ id: 'x', kind: 'smoke_detector', site: 's', building: 'b', name: 'n'.repeat(70_000) })));
    expect(big.status).toBe(413);
    expect(coded(big.body).error.code).toBe('payload_too_large');
    const xml = await rawHttp(port, post('<device/>', 'application/xml'));
    expect(xml.status).toBe(415);
    expect(coded(xml.body).error.code).toBe('unsupported_media_type');
  });
});

describe('tokens in URLs and repeated wrong tokens', () => {
  let h: Harness;
  beforeAll(async () => {
    logLines.length = 0;
    // With the alerts part, so the SSE route (which authenticates on its own) exists.
    ({ h } = await startAlertsHarness({ ms: Date.now() }, { authFailuresPerMinute: 5 }, (deps) => ({ ...deps, logger: pino({ level: 'debug' }, logSink) })));
  });
  afterAll(async () => {
    await h.close();
  });

  it('accepts ?access_token= on no route but the alarm stream, and never logs its value', async () => {
    const res = await h.app.inject({ method: 'GET', url: `/api/devices?access_token=${h.tokens.admin}`, remoteAddress: '10.0.0.1' });
    expect(res.statusCode).toBe(401);
    const logged = JSON.stringify(logLines);
    expect(logged).toContain('access_token=[redacted]');
    expect(logged).not.toContain(h.tokens.admin);
  });

  it('redacts access_token wherever it stands in a URL, whatever its case', () => {
    expect(redactUrl('/api/alerts/stream?access_token=anju_abc&lastEventId=4')).toBe('/api/alerts/stream?access_token=[redacted]&lastEventId=4');
    expect(redactUrl('/x?a=1&ACCESS_TOKEN=abc')).toBe('/x?a=1&ACCESS_TOKEN=[redacted]');
    expect(redactUrl('/x?my_access_token=abc')).toBe('/x?my_access_token=abc');
    expect(redactUrl('/api/devices')).toBe('/api/devices');
  });

  it('answers 429 with Retry-After once an address has failed too often; other addresses and valid tokens are unaffected', async () => {
    const attempt = (remoteAddress: string, token = 'anju_wrong') =>
      h.app.inject({ method: 'GET', url: '/api/devices', remoteAddress, headers: { authorization: `Bearer ${token}` } });
    for (let i = 0; i < 5; i++) expect((await attempt('10.0.0.9')).statusCode).toBe(401);
    const limited = await attempt('10.0.0.9');
    expect(limited.statusCode).toBe(429);
    expect(limited.json().error.code).toBe('too_many_requests');
    expect(Number(limited.headers['retry-after'])).toBeGreaterThanOrEqual(1);
    // The limit is on the address, before any lookup: even a valid token waits.
    expect((await attempt('10.0.0.9', h.tokens.viewer)).statusCode).toBe(429);
    // The SSE route, which authenticates on its own, shares the limit.
    const sse = await h.app.inject({ method: 'GET', url: '/api/alerts/stream?access_token=anju_wrong', remoteAddress: '10.0.0.9' });
    expect(sse.statusCode).toBe(429);
    expect((await attempt('10.0.0.10')).statusCode).toBe(401);
    expect((await attempt('10.0.0.10', h.tokens.viewer)).statusCode).toBe(200);
  });
});
