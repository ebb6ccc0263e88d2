import swagger from '@fastify/swagger';
import swaggerUi from '@fastify/swagger-ui';
import type { FastifyInstance } from 'fastify';
import fp from 'fastify-plugin';
import { jsonSchemaTransform, jsonSchemaTransformObject } from 'fastify-type-provider-zod';

/**
 * OpenAPI 3 generated from the routes' zod schemas, and Swagger UI at `/docs`.
 *
 * Who may read what: the UI page and its static assets (`/docs`, `/docs/static/*`) are public —
 * they are the stock Swagger UI bundle and say nothing about this deployment. The description
 * itself (`/docs/json`, `/docs/yaml`) needs a token of any role, like every other route (DESIGN
 * §3). To keep the UI usable, its request interceptor asks for the token once per browser tab
 * (kept in sessionStorage, as Swagger UI's own "persist authorization" would keep it in
 * localStorage) and sends it with the description request and with "Try it out" calls.
 */

export interface DocsConfig {
  readonly version: string;
}

// Built with `new Function` so that the code Swagger UI receives (the plugin serialises functions
// with toString()) is exactly this text, whatever the TypeScript toolchain does to our own code.
const TOKEN_KEY = 'anju.apiToken';
const requestInterceptor = new Function(
  'req',
  `var t = window.sessionStorage.getItem('${TOKEN_KEY}');
  if (!t && /\\/json(\\?|$)/.test(req.url)) {
    t = window.prompt('Anju API token (any role) to load the API description:');
    if (t) { t = t.trim(); window.sessionStorage.setItem('${TOKEN_KEY}', t); }
  }
  if (t && !req.headers.Authorization) req.headers.Authorization = 'Bearer ' + t;
  return req;`,
);
// A refused token is forgotten, so reloading the page asks again instead of failing forever.
const responseInterceptor = new Function('res', `if (res.status === 401) window.sessionStorage.removeItem('${TOKEN_KEY}'); return res;`);

/**
 * The zod transform puts every registered schema in `components` twice (an input and an output
 * variant), whether a route uses it that way or not; keep only what the paths reach.
 */
function pruneUnusedSchemas<T extends object>(openapi: T): T {
  const doc = openapi as { paths?: unknown; components?: { schemas?: Record<string, unknown> } };
  const all = doc.components?.schemas;
  if (!all) return openapi;
  const refs = (value: unknown) => [...JSON.stringify(value ?? null).matchAll(/"#\/components\/schemas\/([^"]+)"/g)].map((m) => m[1] as string);
  const keep = new Set(refs(doc.paths));
  for (let grew = true; grew; ) {
    grew = false;
    for (const name of [...keep]) for (const r of refs(all[name])) if (!keep.has(r)) grew = keep.add(r) !== undefined;
  }
  const schemas = Object.fromEntries(Object.entries(all).filter(([name]) => keep.has(name)));
  return { ...openapi, components: { ...doc.components, schemas } };
}

async function swaggerPlugin(app: FastifyInstance, opts: DocsConfig): Promise<void> {
  await app.register(swagger, {
    openapi: {
      openapi: '3.0.3',
      info: {
        title: 'Anju API',
        description:
          'Smart-property telemetry: device registry, latest readings and history, sites, ingest dead letters, API tokens. ' +
          'Every route but /health needs `Authorization: Bearer <token>`. Times are epoch ms or ISO 8601 in, ISO 8601 out; ' +
          'lists answer {items, total} with limit/offset; errors answer {error: {code, message}}.',
        version: opts.version,
      },
      components: { securitySchemes: { bearer: { type: 'http', scheme: 'bearer', description: 'an API token (anju_...)' } } },
      security: [{ bearer: [] }],
      tags: [
        { name: 'system', description: 'health and metrics' },
        { name: 'devices', description: 'device registry and provisioning' },
        { name: 'telemetry', description: 'latest readings and history' },
        { name: 'sites', description: 'sites (residential communities) and buildings' },
        { name: 'ingest', description: 'messages ingest refused' },
        { name: 'tokens', description: 'API tokens (admin)' },
        { name: 'service-accounts', description: 'MQTT service accounts for integrations (admin)' },
      ],
    },
    transform: jsonSchemaTransform,
    transformObject: (doc) => pruneUnusedSchemas(jsonSchemaTransformObject(doc)),
  });

  // A child context, so the hook below only sees the routes Swagger UI adds.
  await app.register(async (docs) => {
    docs.addHook('onRoute', (route) => {
      const isSpec = /\/(json|yaml)$/.test(route.url);
      if (!isSpec) route.config = { ...route.config, public: true };
    });
    await docs.register(swaggerUi, {
      routePrefix: '/docs',
      uiConfig: { deepLinking: true, requestInterceptor, responseInterceptor } as Record<string, unknown>,
    });
  });
}

export default fp(swaggerPlugin, { name: 'anju-swagger', fastify: '5.x', dependencies: ['anju-auth'] });
