import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startHarness, type Harness } from './harness.js';

/** The control room's static files (api/routes/web): public, revalidated by ETag, nothing outside dist/web. */
describe('web UI files', () => {
  let h: Harness;
  let root: string;

  beforeAll(async () => {
    root = await mkdtemp(join(tmpdir(), 'anju-web-'));
    h = await startHarness({ webRoot: root });
  });
  afterAll(async () => {
    await h.close();
    await rm(root, { recursive: true, force: true });
  });

  it('says how to build when nothing is built yet', async () => {
    const res = await h.call(null, { method: 'GET', url: '/' });
    expect(res.statusCode).toBe(503);
    expect(res.body).toContain('npm run build');
  });

  it('serves the page and its assets without a token, with a same-origin CSP and ETag revalidation', async () => {
    await mkdir(join(root, 'assets'), { recursive: true });
    await writeFile(join(root, 'index.html'), '<!doctype html><title>Anju</title>');
    await writeFile(join(root, 'assets', 'app.js'), 'console.log(1)');
    await writeFile(join(root, 'secret.txt'), 'not for you');

    const page = await h.call(null, { method: 'GET', url: '/' });
    expect(page.statusCode).toBe(200);
    expect(page.headers['content-type']).toBe('text/html; charset=utf-8');
    expect(page.headers['content-security-policy']).toMatch(/script-src 'self'(;|$)/);
    expect(page.headers['cache-control']).toBe('no-cache');
    const again = await h.call(null, { method: 'GET', url: '/', headers: { 'if-none-match': String(page.headers.etag) } });
    expect(again.statusCode).toBe(304);

    const js = await h.call(null, { method: 'GET', url: '/assets/app.js' });
    expect(js.statusCode).toBe(200);
    expect(js.headers['content-type']).toBe('text/javascript; charset=utf-8');
    expect(js.body).toBe('console.log(1)');

    // A rebuild while the server runs is served at once (new ETag).
    await writeFile(join(root, 'assets', 'app.js'), 'console.log(22)');
    const rebuilt = await h.call(null, { method: 'GET', url: '/assets/app.js', headers: { 'if-none-match': String(js.headers.etag) } });
    expect(rebuilt.statusCode).toBe(200);
    expect(rebuilt.body).toBe('console.log(22)');
  });

  it('serves nothing outside assets/ and no unknown types', async () => {
    for (const url of ['/assets/..%2Fsecret.txt', '/assets/%2e%2e%2fsecret.txt', '/assets/secret.txt', '/assets/app.exe']) {
      const res = await h.call(null, { method: 'GET', url });
      expect(res.statusCode, url).toBe(404);
      expect(res.body, url).not.toContain('not for you');
    }
    // Any other path is not a route: without a token it is refused before routing (auth is on by default).
    const other = await h.call(null, { method: 'GET', url: '/secret.txt' });
    expect(other.statusCode).toBe(401);
    expect(other.body).not.toContain('not for you');
  });
});
