import swagger from '@fastify/swagger';
import swaggerUi from '@fastify/swagger-ui';
import type { FastifyInstance } from 'fastify';
import fp from 'fastify-plugin';
import { jsonSchemaTransform, jsonSchemaTransformObject } from 'fastify-type-provider-zod';
import { mqttContractMarkdown } from './mqtt-contract.js';
import { withExamples } from './openapi-examples.js';

/**
 * OpenAPI 3 generated from the routes' zod schemas, and Swagger UI at `/docs`.
 *
 * Who may read what (DESIGN §3): the UI, its assets and the description itself (`/docs/json`,
 * `/docs/yaml`) are public, so a browser opens `/docs` without a token — the description says no
 * more than the open-source code does. The operations are not: Swagger UI's Authorize button takes
 * an API token (bearer) and sends it with "Try it out" calls; without one they answer 401.
 */

export interface DocsConfig {
  readonly version: string;
}

const description = [
  'Smart-property telemetry: device registry and provisioning, latest readings and history, sites, alarms and incidents, ' +
    'reports, ingest dead letters, API tokens and MQTT service accounts.',
  '',
  '**Trying it here.** Every operation but `/health` needs `Authorization: Bearer <token>`: press **Authorize** and paste an API ' +
    'token — the admin token printed when Anju first started (or `ANJU_ADMIN_TOKEN`), one minted with `anju token`, or one made by ' +
    '`POST /api/tokens`. Times are epoch ms or ISO 8601 in, ISO 8601 out; lists answer `{items, total}` with `limit`/`offset`; ' +
    'errors answer `{error: {code, message}}` with a 4xx that fits.',
  '',
  mqttContractMarkdown(),
].join('\n');

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
        description,
        version: opts.version,
      },
      components: { securitySchemes: { bearer: { type: 'http', scheme: 'bearer', description: 'an API token (anju_…): the admin token printed on the first start, `anju token`, or POST /api/tokens' } } },
      security: [{ bearer: [] }],
      tags: [
        { name: 'system', description: 'health and metrics' },
        { name: 'devices', description: 'device registry and provisioning' },
        { name: 'telemetry', description: 'latest readings and history' },
        { name: 'sites', description: 'sites (residential communities) and buildings' },
        { name: 'ingest', description: 'messages ingest refused' },
        { name: 'alerts', description: 'alarms: list, acknowledge, assign, comment, clear; live stream (SSE)' },
        { name: 'incidents', description: 'correlated alarms: one per site, building and hazard' },
        { name: 'rules', description: 'alarm rule parameters' },
        { name: 'responses', description: 'incident response policies: which alarm proposes which command, and when it may act by itself' },
        { name: 'reports', description: 'energy and water savings, waste and fire-safety reports' },
        { name: 'tokens', description: 'API tokens (admin)' },
        { name: 'demo', description: 'the demo community\'s simulated devices (admin; anju all with the demo fleet)' },
        { name: 'service-accounts', description: 'MQTT service accounts for integrations (admin)' },
        { name: 'accounts', description: 'people who log in to the control room, their site-scoped roles and passwords (admin)' },
        { name: 'audit', description: 'the audit trail: who changed what, from where, when (admin); CSV export' },
      ],
    },
    transform: jsonSchemaTransform,
    transformObject: (doc) => withExamples(pruneUnusedSchemas(jsonSchemaTransformObject(doc))),
  });

  // A child context, so the hook below only sees the routes Swagger UI adds.
  await app.register(async (docs) => {
    docs.addHook('onRoute', (route) => {
      route.config = { ...route.config, public: true };
    });
    await docs.register(swaggerUi, {
      routePrefix: '/docs',
      // The token stays in the page (not persisted): an admin token is not left in the browser's storage.
      uiConfig: { deepLinking: true, persistAuthorization: false, displayRequestDuration: true, tryItOutEnabled: false },
    });
  });
}

export default fp(swaggerPlugin, { name: 'anju-swagger', fastify: '5.x', dependencies: ['anju-auth'] });
