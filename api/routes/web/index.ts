import { createHash } from 'node:crypto';
import { readFile, stat } from 'node:fs/promises';
import { extname, join } from 'node:path';
import type { FastifyPluginAsync, FastifyReply, FastifyRequest } from 'fastify';

/**
 * The built-in control room (dashboards/web, bundled by `npm run build` into dist/web): `/` is its
 * page and `/assets/<file>` its script and styles. Public, like any login page: the page holds no
 * data, and every call it makes to /api carries the operator's token.
 *
 * Files are read on first request and kept with their ETag until they change on disk (a rebuild
 * while the server runs is picked up), answered with `Cache-Control: no-cache` so a browser always
 * revalidates (RFC 9111 §5.2.2.4) and gets a 304 when nothing changed. Only flat names under
 * assets/ are served: no path from the URL ever reaches the file system unchecked.
 *
 * The Content-Security-Policy keeps the page to its own origin (no CDN, no inline script): the
 * control room must work offline, and an injected script has nowhere to load from or send to.
 */

export interface WebRoutesOptions {
  /** Directory holding index.html and assets/ (dist/web). */
  readonly root: string;
}

const contentTypes: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.map': 'application/json; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.woff2': 'font/woff2',
};
const assetName = /^[A-Za-z0-9_-][A-Za-z0-9._-]{0,127}$/;

export const contentSecurityPolicy = [
  "default-src 'self'",
  "script-src 'self'",
  // ECharts and the report's SVG charts set inline style attributes.
  "style-src 'self' 'unsafe-inline'",
  "img-src 'self' data: blob:",
  "connect-src 'self'",
  // The savings report is shown in a sandboxed iframe from a blob: URL or srcdoc.
  "frame-src 'self' blob: data:",
  "object-src 'none'",
  "base-uri 'none'",
  "form-action 'self'",
  "frame-ancestors 'self'",
].join('; ');

interface Cached {
  readonly mtimeMs: number;
  readonly size: number;
  readonly body: Buffer;
  readonly etag: string;
}

const notBuilt = `<!doctype html><html lang="en"><meta charset="utf-8"><title>Anju</title>
<body><h1>The control room is not built</h1><p>Run <code>npm run build</code> (or <code>npm start</code>, which builds first),
then reload. The API is up: see <a href="/docs">/docs</a>.</p></body></html>`;

export const webRoutes: FastifyPluginAsync<WebRoutesOptions> = async (app, { root }) => {
  const cache = new Map<string, Cached>();

  async function load(file: string): Promise<Cached | undefined> {
    const s = await stat(file).catch(() => undefined);
    if (!s?.isFile()) {
      cache.delete(file);
      return undefined;
    }
    const hit = cache.get(file);
    if (hit && hit.mtimeMs === s.mtimeMs && hit.size === s.size) return hit;
    const body = await readFile(file);
    const entry = { mtimeMs: s.mtimeMs, size: s.size, body, etag: `"${createHash('sha256').update(body).digest('base64url').slice(0, 22)}"` };
    cache.set(file, entry);
    return entry;
  }

  function send(request: FastifyRequest, reply: FastifyReply, file: Cached, type: string) {
    reply.header('cache-control', 'no-cache').header('etag', file.etag).header('x-content-type-options', 'nosniff');
    if (request.headers['if-none-match'] === file.etag) return reply.code(304).send();
    return reply.type(type).send(file.body);
  }

  const page = { config: { public: true }, schema: { hide: true } } as const;

  app.get('/', page, async (request, reply) => {
    reply.header('content-security-policy', contentSecurityPolicy).header('referrer-policy', 'no-referrer');
    const index = await load(join(root, 'index.html'));
    if (!index) return reply.code(503).type('text/html; charset=utf-8').header('retry-after', '60').send(notBuilt);
    return send(request, reply, index, contentTypes['.html'] as string);
  });

  app.get<{ Params: { file: string } }>('/assets/:file', page, async (request, reply) => {
    const { file } = request.params;
    const type = contentTypes[extname(file)];
    const asset = assetName.test(file) && type ? await load(join(root, 'assets', file)) : undefined;
    if (!asset || !type) return reply.code(404).send({ error: { code: 'not_found', message: `asset ${file} not found` } });
    return send(request, reply, asset, type);
  });
};
